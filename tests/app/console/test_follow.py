"""The polling feed: every log line once, in order, and the last update is the final status."""
from __future__ import annotations

from app.console.follow import EventFeed, PollingFeed


class ScriptedClient:
    """An order that runs for three reads, writing lines as it goes."""

    def __init__(self):
        self.reads = 0
        self.lines = []

    def get_order(self, order_id):
        self.reads += 1
        self.lines += [{"time": f"t{self.reads}", "task": "main", "message": f"line {len(self.lines) + i}"}
                       for i in range(3)]
        return {"id": order_id, "status": "succeeded" if self.reads == 3 else "executing"}

    def list_order_logs(self, order_id, *, offset, limit):
        return {"items": self.lines[offset:offset + limit]}


def test_the_feed_yields_each_line_once_and_ends_with_the_final_status(monkeypatch):
    monkeypatch.setattr("app.console.follow.LOG_PAGE", 2)  # three lines a read: the feed must page on
    sleeps = []
    feed = PollingFeed(ScriptedClient(), "o-1", interval=1.0, sleep=sleeps.append)
    feed_updates = list(feed.updates())
    assert [u.order["status"] for u in feed_updates] == ["executing", "executing", "succeeded"]
    assert feed_updates[-1].finished and sleeps == [1.0, 1.0]
    messages = [line["message"] for u in feed_updates for line in u.new_lines]
    assert messages == [f"line {i}" for i in range(9)]


class StreamingClient(ScriptedClient):
    """The same order, told by its event stream: a status event per read the order changed."""

    def __init__(self, stream_status: int | None = None):
        super().__init__()
        self.stream_status = stream_status

    def follow_order_events(self, order_id):
        if self.stream_status is not None:
            from app.client.errors import ApiError
            raise ApiError(self.stream_status, {"message": "the server holds as many streams as it may"})
        yield {"event": "logs", "id": 1}
        yield {"event": "task", "id": 2}  # tells nothing the feed shows: no read
        yield {"event": "status", "id": 3}
        raise AssertionError("the feed reads no further once the order has ended")


def test_the_event_feed_reads_the_order_when_its_stream_says_something_happened():
    client = StreamingClient()
    feed_updates = list(EventFeed(client, "o-1").updates())
    assert [u.order["status"] for u in feed_updates] == ["executing", "executing", "succeeded"]
    assert client.reads == 3
    assert [line["message"] for u in feed_updates for line in u.new_lines] == [f"line {i}" for i in range(9)]


def test_the_event_feed_polls_where_the_server_cannot_stream(monkeypatch):
    sleeps = []
    monkeypatch.setattr("app.console.follow.time.sleep", sleeps.append)
    feed_updates = list(EventFeed(StreamingClient(stream_status=503), "o-1").updates())
    assert [u.order["status"] for u in feed_updates] == ["executing", "executing", "succeeded"]
    assert sleeps == [1.0]  # the first read came before the stream was asked for
