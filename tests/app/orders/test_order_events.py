"""The live event streams: an order followed from pending to its end over HTTP, a stream resumed
with Last-Event-ID getting exactly what it missed, the list stream, and the refusals."""
from __future__ import annotations

import json
import threading
import time

import httpx
import httpx_sse
import pytest

from app.orders.streams import EventStreams
from tests.conftest import TEST_SECRET

FINAL = {"succeeded", "failed", "error", "cancelled"}


def token(account: str) -> str:
    from app.auth import SharedSecretVerifier
    return SharedSecretVerifier(TEST_SECRET).issue(account, 3600)


class Follower:
    """Reads an event stream in a thread, keeping (id, kind, data) of each event; stops by itself
    after `stop_after` events, or when the server ends the stream."""

    def __init__(self, base: str, path: str, account: str = "bob", headers=None, stop_after: int | None = None,
                 bearer: str | None = None):
        self.events: list[tuple[int, str, dict]] = []
        self.ended = threading.Event()
        self.status = None
        self._request = (base + path, {"Authorization": f"Bearer {bearer or token(account)}", **(headers or {})})
        self._stop_after = stop_after
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        url, headers = self._request
        try:
            with httpx.Client(timeout=httpx.Timeout(5, read=60)) as client, \
                    httpx_sse.connect_sse(client, "GET", url, headers=headers) as source:
                self.status = source.response.status_code
                self.content_type = source.response.headers.get("content-type", "")
                for sse in source.iter_sse():
                    self.events.append((int(sse.id), sse.event, sse.json()))
                    if self._stop_after is not None and len(self.events) >= self._stop_after:
                        return
        except httpx.TransportError:  # a stream the server ended with its application, after the test
            pass
        finally:
            self.ended.set()

    def statuses(self) -> list[str]:
        return [data["status"] for _id, kind, data in self.events if kind == "status"]


def until(condition, worker=None, seconds: float = 60.0, what: str = "condition"):
    """Run worker passes (if any) until `condition()` holds, failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} not reached within {seconds}s"
        if worker is not None:
            worker.run_once()
        time.sleep(0.05)
    return value


def replay(client, path: str, **headers) -> list[tuple[int, str, dict]]:
    """The events a non-following request replays, parsed from the text/event-stream body."""
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "text/event-stream"
    events = []
    for block in response.get_data(as_text=True).split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
    return events


def same(events) -> list[tuple[int, str, dict]]:
    """Events as served by any host: the logs link names the host the client called."""
    return [(event_id, kind, {key: value for key, value in data.items() if key != "logs"})
            for event_id, kind, data in events]


def test_an_order_is_followed_from_pending_to_succeeded(api_url, ordered, worker, bob):
    order_id = ordered("hello")
    follower = Follower(api_url, f"/1/orders/{order_id}/events")
    until(follower.ended.is_set, worker, what="the stream's end")

    assert follower.status == 200 and follower.content_type.startswith("text/event-stream")
    statuses = follower.statuses()
    assert statuses[0] == "pending" and statuses[-1] == "succeeded"
    assert "scheduled" in statuses
    ids = [event_id for event_id, _kind, _data in follower.events]
    assert ids == sorted(set(ids))
    kind, data = follower.events[-1][1:]
    assert kind == "status" and data["order-id"] == order_id and "time" in data
    logs = [data for _id, kind, data in follower.events if kind == "logs"]
    assert logs and logs[0]["count"] >= 1 and logs[0]["logs"].endswith(f"/1/orders/{order_id}/logs")
    # The stream and a replay of it agree.
    assert same(replay(bob, f"/1/orders/{order_id}/events")) == same(follower.events)


def test_a_cancelled_order_ends_its_stream(api_url, ordered, bob):
    order_id = ordered()
    follower = Follower(api_url, f"/1/orders/{order_id}/events")
    until(lambda: follower.events, what="the first event")
    assert bob.post(f"/1/orders/{order_id}/cancel").status_code == 202
    until(follower.ended.is_set, what="the stream's end")
    assert follower.statuses() == ["pending", "cancelled"]
    assert follower.events[-1][2]["status-message"] == "cancelled before it started"


def test_a_stream_resumed_with_last_event_id_gets_exactly_what_it_missed(api_url, ordered, worker, bob):
    order_id = ordered("resumed")
    first = Follower(api_url, f"/1/orders/{order_id}/events", stop_after=2)
    until(first.ended.is_set, worker, what="two events")
    until(lambda: bob.get(f"/1/orders/{order_id}").get_json()["status"] in FINAL, worker, what="the order's end")

    resumed = Follower(api_url, f"/1/orders/{order_id}/events", headers={"Last-Event-ID": str(first.events[-1][0])})
    until(resumed.ended.is_set, what="the resumed stream's end")
    everything = replay(bob, f"/1/orders/{order_id}/events")
    assert same(first.events + resumed.events) == same(everything)
    assert resumed.events[-1][2]["status"] == "succeeded"
    # The query option does the same for clients that cannot set the header.
    assert same(replay(bob, f"/1/orders/{order_id}/events?last-event-id={first.events[-1][0]}")) \
        == same(resumed.events)


def test_the_provider_follows_an_order_and_others_do_not_see_it(ordered, alice, as_account):
    order_id = ordered()
    assert [data["status"] for _id, _kind, data in replay(alice, f"/1/orders/{order_id}/events?follow=false")] \
        == ["pending"]
    response = as_account("carol").get(f"/1/orders/{order_id}/events")
    assert response.status_code == 404 and response.get_json()["id"] == order_id


@pytest.mark.parametrize(("path", "headers", "name"), [
    ("/1/orders/events", {"Last-Event-ID": "yesterday"}, "Last-Event-ID"),
    ("/1/orders/events?last-event-id=-1", {}, "last-event-id"),
    ("/1/orders/events?follow=perhaps", {}, "follow"),
    ("/1/orders/events?$filter=status%20eq", {}, "$filter"),
    ("/1/orders/events?stream=yes", {}, "stream"),
])
def test_bad_options_are_refused_in_the_one_error_shape(bob, path, headers, name):
    response = bob.get(path, headers=headers)
    assert response.status_code == 400
    body = response.get_json()
    assert body["message"] and name in str(body)


def test_a_blank_filter_of_the_list_stream_counts_as_absent_as_in_the_list(ordered, bob):
    order_id = ordered()
    for blank in ("", "%20", "%C2%A0", "%0D"):  # as forms and generated clients send them
        assert bob.get(f"/1/orders?$filter={blank}").status_code == 200
        events = replay(bob, f"/1/orders/events?follow=false&$filter={blank}")
        assert {data["order-id"] for _id, _kind, data in events} == {order_id}


def test_a_bad_last_event_id_of_an_order_stream_is_a_400(ordered, bob):
    order_id = ordered()
    response = bob.get(f"/1/orders/{order_id}/events", headers={"Last-Event-ID": "12abc"})
    assert response.status_code == 400 and "Last-Event-ID" in str(response.get_json())


def test_the_list_stream_follows_the_callers_orders_with_a_filter(api_url, ordered, bob, alice, worker):
    cancelled, running = ordered("one"), ordered("two")
    follower = Follower(api_url, "/1/orders/events")
    assert bob.post(f"/1/orders/{cancelled}/cancel").status_code == 202
    until(lambda: {data["order-id"] for _id, _kind, data in follower.events} == {cancelled, running},
          what="both orders' events")

    only_cancelled = replay(bob, "/1/orders/events?follow=false&$filter=status eq 'cancelled'")
    assert {data["order-id"] for _id, _kind, data in only_cancelled} == {cancelled}
    assert replay(alice, "/1/orders/events?follow=false") == []  # the provider's own orders: none
    until(lambda: bob.get(f"/1/orders/{running}").get_json()["status"] in FINAL, worker, what="the order's end")
    until(lambda: any(data.get("status") == "succeeded" for _id, _kind, data in follower.events),
          what="the list stream's final event")
    assert follower.ended.is_set() is False  # the list stream never ends by itself


def test_a_process_at_its_bound_of_streams_answers_503(app, config, ordered, bob):
    order_id = ordered()
    streams = EventStreams(app.extensions["database"].sessions, config.database_url,
                           type(config.events)(per_process=0))
    app.extensions["event_streams"] = streams
    response = bob.get(f"/1/orders/{order_id}/events")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "event streams" in response.get_json()["message"]


def test_on_postgresql_a_commit_wakes_the_streams_through_notify(app, config, api_url, ordered, bob):
    if not config.database_url.startswith("postgresql"):
        pytest.skip("SQLite streams poll; NOTIFY is PostgreSQL's")
    order_id = ordered()
    follower = Follower(api_url, f"/1/orders/{order_id}/events")
    until(lambda: follower.events, what="the first event")
    streams = app.extensions["event_streams"]
    until(streams._listener.listening.is_set, what="the listener's LISTEN")
    seen = streams.wakeup.generation()
    assert bob.post(f"/1/orders/{order_id}/cancel").status_code == 202
    until(lambda: streams.wakeup.generation() > seen, seconds=10, what="a NOTIFY fanned out to the streams")
    until(follower.ended.is_set, what="the stream's end")
    assert follower.statuses() == ["pending", "cancelled"]


def test_event_ids_commit_in_increasing_order(app, config, ordered):
    """A writer in the middle of committing events holds the events lock: another writer's events
    wait for it, and take larger ids, so a reader never skips an id that commits later."""
    if not config.database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    import sqlalchemy as sa

    from app.orders import events
    from app.orders.models import OrderEvent

    order_id = ordered()
    sessions = app.extensions["database"].sessions
    first, second = sessions(), sessions()
    first.execute(sa.select(sa.func.pg_advisory_xact_lock(events.EVENTS_LOCK)))  # as while committing
    events.record(second, order_id, events.EventKind.LOGS, {"count": 1, "first-seq": 1, "last-seq": 1})
    committed = threading.Event()
    threading.Thread(target=lambda: (second.commit(), committed.set()), daemon=True).start()
    assert not committed.wait(1.0)  # the second writer waits for the first
    events.record(first, order_id, events.EventKind.LOGS, {"count": 1, "first-seq": 2, "last-seq": 2})
    first.commit()
    until(committed.is_set, what="the second writer's commit")
    first.close()
    second.close()
    with sessions() as session:
        logs = session.scalars(sa.select(OrderEvent).where(OrderEvent.kind == "logs").order_by(OrderEvent.id)).all()
    assert [event.data["first-seq"] for event in logs] == [2, 1]
