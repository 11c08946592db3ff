"""The webhook dispatcher (app.worker.webhooks) against real receivers on threads: signed deliveries,
retries with backoff, addresses checked again when sending, and receivers that hang or fail
slowing nothing else."""
from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest
from standardwebhooks import Webhook

from app import callback_urls
from app.callback_urls import parse_networks
from app.config import WebhookSettings
from app.worker.health import WorkerMetrics
from tests.app.webhooks.conftest import until


@pytest.fixture
def webhook_settings():
    """Receivers on 127.0.0.1 are allowed (and nothing else inside); retries come quickly."""
    return WebhookSettings(allowed_networks=parse_networks("127.0.0.1/32"), first_retry_seconds=0.2,
                           max_retry_interval_seconds=1, retry_seconds=60, connect_timeout_seconds=1,
                           read_timeout_seconds=10, poll_seconds=0.05, public_url="http://localhost")


def place(client, service, callback):
    response = client.post("/1/orders", json={"service-id": service["id"], "callback": callback})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliveries(client, order):
    return client.get(f"{order['links']['self']}/deliveries").get_json()["deliveries"]


def finished(client, order, count=1):
    found = deliveries(client, order)
    return found if len(found) >= count and all(d["status"] != "pending" for d in found) else None


def dispatch_until_ended(app, config, client, order, **settings) -> list[dict]:
    """Run a dispatcher with these webhook settings until the order's deliveries have ended."""
    from app.worker.webhooks import Dispatcher

    changed = replace(config, webhooks=replace(config.webhooks, **settings))
    stop = threading.Event()
    thread = Dispatcher(app.extensions["database"], changed, app=app).start(stop)
    try:
        return until(lambda: finished(client, order), what="the delivery ended")
    finally:
        stop.set()
        thread.join(10)


def test_a_receiver_verifies_the_signature_and_sees_a_retry_after_answering_500(service, bob, receiver, dispatcher):
    hooks = receiver([500, 200])
    order = place(bob, service, hooks.url)
    secret = bob.get("/1/webhooks/secret").get_json()["secret"]
    metrics = WorkerMetrics()
    dispatcher(metrics=metrics)
    (delivery,) = until(lambda: finished(bob, order), what="the delivery succeeded")
    assert [metrics.webhook_attempts.labels(outcome)._value.get() for outcome in ("failed", "succeeded")] == [1, 1]
    assert delivery["status"] == "succeeded" and delivery["type"] == "order.pending"
    assert [(a["number"], a["outcome"], a.get("status-code")) for a in delivery["attempts"]] == [
        (1, "failed", 500), (2, "succeeded", 200)]
    assert delivery["attempts"][0]["error"] == "answered 500"
    assert len(hooks.received) == 2
    for received in hooks.received:
        payload = Webhook(secret).verify(received.body, received.headers)
        assert received.headers["webhook-id"] == delivery["id"]  # the same message, retried
        assert payload["type"] == "order.pending"
        assert payload["data"] == bob.get(order["links"]["self"]).get_json()  # the order as the API renders it
    assert hooks.received[0].body == hooks.received[1].body
    second = hooks.received[1].time - hooks.received[0].time
    assert second >= 0.1  # backoff: first_retry_seconds (0.2) drawn from its upper half


def test_a_forged_or_altered_delivery_fails_verification(service, bob, receiver, dispatcher):
    hooks = receiver([200])
    order = place(bob, service, hooks.url)
    dispatcher()
    until(lambda: finished(bob, order), what="the delivery succeeded")
    received = hooks.received[0]
    with pytest.raises(Exception, match="signature"):
        Webhook(bob.post("/1/webhooks/secret/rotate").get_json()["secret"]).verify(
            received.body + b" ", received.headers)


def test_after_a_rotation_deliveries_carry_signatures_by_the_new_and_the_previous_secret(service, bob, receiver,
                                                                                       dispatcher):
    old = bob.get("/1/webhooks/secret").get_json()["secret"]
    new = bob.post("/1/webhooks/secret/rotate").get_json()["secret"]
    hooks = receiver([200])
    order = place(bob, service, hooks.url)
    dispatcher()
    until(lambda: finished(bob, order), what="the delivery succeeded")
    received = hooks.received[0]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(received.body, received.headers)["data"]["id"] == order["id"]
    assert Webhook(new).verify(received.body, received.headers)["data"]["id"] == order["id"]


def test_every_status_change_goes_to_the_order_callback_and_the_accounts_default_callbacks(
        service, bob, receiver, dispatcher, worker):
    own, default = receiver([200]), receiver([200])
    assert bob.post("/1/webhooks", json={"url": default.url}).status_code == 201
    order = place(bob, service, own.url)
    dispatcher()
    until(lambda: bob.get(order["links"]["self"]).get_json()["status"] == "succeeded", step=worker.run_once,
          what="the order succeeded")
    ended = until(lambda: (found := finished(bob, order)) and sum(
        d["type"] == "order.succeeded" for d in found) == 2 and found, what="every delivery ended")
    for hooks in (own, default):
        sent = sorted(d["type"] for d in ended if d["url"] == hooks.url)
        assert {"order.pending", "order.scheduled", "order.succeeded"} <= set(sent)
        assert len(sent) == len(set(sent))  # one delivery per status (none for a changed message alone)
        until(lambda hooks=hooks, sent=sent: len(hooks.received) == len(sent), what="every delivery received")
        assert sorted(json.loads(received.body)["type"] for received in hooks.received) == sent
    assert {d["status"] for d in ended} == {"succeeded"}


def test_a_name_that_resolves_inside_when_sent_is_refused_then(service, bob, receiver, dispatcher, config, app,
                                                                monkeypatch):
    """DNS rebinding: `localhost` passed as public when ordered; when sent it resolves to loopback,
    which this dispatcher's allowance does not cover: the delivery fails, nothing is sent."""
    from app.worker.webhooks import Dispatcher

    monkeypatch.setattr(callback_urls, "default_resolve", lambda _host, _port: ["93.184.215.14"])
    order = place(bob, service, "http://localhost:9/hooks")
    monkeypatch.undo()
    stop = threading.Event()
    strict = replace(config, webhooks=replace(config.webhooks, allowed_networks=parse_networks("10.9.9.9/32")))
    thread = Dispatcher(app.extensions["database"], strict, app=app).start(stop)
    try:
        (delivery,) = until(lambda: finished(bob, order), what="the delivery ended")
    finally:
        stop.set()
        thread.join(10)
    assert delivery["status"] == "failed"
    (attempt,) = delivery["attempts"]
    assert attempt["outcome"] == "refused" and "status-code" not in attempt
    assert "resolves to 127.0.0.1, a loopback address" in attempt["error"]


def test_the_checked_address_is_the_one_connected_to(service, bob, receiver, dispatcher, monkeypatch):
    """The dispatcher resolves once, checks, and connects to that address: a second lookup (which a
    rebinding name would answer differently) never happens."""
    hooks = receiver([200])
    port = hooks.url.split(":")[2].split("/")[0]
    monkeypatch.setattr(callback_urls, "default_resolve", lambda _host, _port: ["93.184.215.14"])
    order = place(bob, service, f"http://receiver.test:{port}/hooks")
    monkeypatch.undo()
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        return ["127.0.0.1"]
    dispatcher(resolve=resolve)
    (delivery,) = until(lambda: finished(bob, order), what="the delivery ended")
    assert delivery["status"] == "succeeded"
    assert lookups == ["receiver.test"]
    assert hooks.received[0].headers["Host"] == f"receiver.test:{port}"  # the name, kept


def test_a_redirect_is_not_followed_and_a_failing_receiver_ends_failed_when_time_runs_out(
        service, bob, receiver, app, config):

    hooks = receiver([302, 500])
    order = place(bob, service, hooks.url)
    # Three attempts take about 0.6 s of backoff (0.2 s, then at most 1 s apart): 3 s leaves a busy
    # machine room for them (with 1 s, a loaded run once made only two).
    (delivery,) = dispatch_until_ended(app, config, bob, order, retry_seconds=3)
    assert delivery["status"] == "failed" and delivery["finished-at"]
    codes = [a.get("status-code") for a in delivery["attempts"]]
    assert codes[0] == 302 and set(codes[1:]) == {500} and len(codes) >= 3
    assert len(hooks.received) == len(codes)  # nothing followed the redirect


def test_a_hanging_receiver_delays_neither_other_deliveries_nor_orders(service, bob, receiver, dispatcher, worker):
    hanging, quick = receiver([None]), receiver([200])
    stuck = place(bob, service, hanging.url)
    dispatcher()
    until(lambda: hanging.received, what="the hanging receiver called")
    order = place(bob, service, quick.url)
    until(lambda: bob.get(order["links"]["self"]).get_json()["status"] == "succeeded", step=worker.run_once,
          seconds=8, what="the other order succeeded")  # the read timeout is 10 s
    until(lambda: finished(bob, order, count=3), seconds=8, what="the other order's deliveries")
    assert {d["status"] for d in deliveries(bob, order)} == {"succeeded"}
    (waiting,) = [d for d in deliveries(bob, stuck) if d["type"] == "order.pending"]
    assert waiting["status"] == "pending" and waiting["attempts"] == []  # still waiting for its answer


def test_two_dispatchers_never_claim_the_same_delivery(service, bob, app):
    from app.webhooks.deliveries import claim_due

    for number in range(12):
        place(bob, service, f"https://93.184.215.14/hooks/{number}")
    database = app.extensions["database"]
    claimed: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)

    def claim(index):
        session = database.sessions()
        try:
            barrier.wait(10)
            for _ in range(6):
                claimed[index] += claim_due(session, 2, lease_seconds=60, retry_seconds=60)
        finally:
            session.close()
    threads = [threading.Thread(target=claim, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 12


def test_a_delivery_whose_dispatcher_died_is_claimed_again_with_the_same_id(service, bob, app):
    from app.webhooks.deliveries import claim_due
    from app.webhooks.models import WebhookDelivery

    order = place(bob, service, "https://93.184.215.14/hooks")
    session = app.extensions["database"].sessions()
    try:
        (first,) = claim_due(session, 5, lease_seconds=0.3, retry_seconds=60)
        assert claim_due(session, 5, lease_seconds=0.3, retry_seconds=60) == []  # leased
        (again,) = until(lambda: claim_due(session, 5, lease_seconds=0.3, retry_seconds=60),
                         what="the lease ran out")
        assert again == first == deliveries(bob, order)[0]["id"]
        assert session.get(WebhookDelivery, first).claims == 2
    finally:
        session.close()


def test_a_large_order_is_sent_without_its_lists(app, service, bob):
    from app.orders.models import Order
    from app.webhooks.payload import render

    placed = bob.post("/1/orders", json={"service-id": service["id"], "tags": [f"t{i:03}" * 10 for i in range(60)],
                                         "callback": "https://93.184.215.14/hooks"}).get_json()
    session = app.extensions["database"].sessions()
    order = session.get(Order, placed["id"])
    with app.test_request_context(base_url="http://localhost"):
        whole = json.loads(render(order, "order.pending", order.ordered_at, 1_000_000))
        small = json.loads(render(order, "order.pending", order.ordered_at, 1000))
    session.close()
    assert whole["data"] == placed and "truncated" not in whole
    assert small["truncated"] is True and "tags" not in small["data"]
    assert small["data"]["id"] == placed["id"] and small["data"]["status"] == "pending"


def test_a_delivery_that_cannot_be_rendered_counts_its_attempts_and_ends(service, bob, app, config, monkeypatch):
    from app.webhooks import payload

    def broken(*_args):
        raise RuntimeError("a bug")
    monkeypatch.setattr(payload, "render", broken)
    order = place(bob, service, "https://93.184.215.14/hooks")
    (delivery,) = dispatch_until_ended(app, config, bob, order, retry_seconds=1)
    assert delivery["status"] == "failed"
    assert {a["error"] for a in delivery["attempts"]} == {"the platform could not send it: RuntimeError"}


def test_a_delivery_whose_dispatchers_kept_dying_past_its_time_ends_failed(service, bob, app):
    from app.webhooks.deliveries import claim_due

    order = place(bob, service, "https://93.184.215.14/hooks")
    session = app.extensions["database"].sessions()
    try:
        assert len(claim_due(session, 5, lease_seconds=0.1, retry_seconds=0.1)) == 1  # then the dispatcher dies
        until(lambda: finished(bob, order), step=lambda: claim_due(session, 5, lease_seconds=0.1, retry_seconds=0.1),
              what="the delivery failed")  # a dispatcher that claims and dies, again and again
    finally:
        session.close()
    (delivery,) = deliveries(bob, order)
    assert delivery["status"] == "failed" and delivery["attempts"] == []
