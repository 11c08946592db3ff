"""Waking the event streams of this process when events commit. A stream waits on the topics it
follows (an order, or an account's orders); on PostgreSQL one listening connection per process
(LISTEN order_events) hands each NOTIFY's topics to the streams that follow one of them, and
only to those; on SQLite the streams wake every poll interval and look."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterable

from app.listen import PostgresListener
from app.orders.events import CHANNEL, account_topic, order_topic

__all__ = ["Wakeup", "account_topic", "events_listener", "order_topic"]


def topics_of_payload(payload: str | None) -> list[str] | None:
    """The topics a NOTIFY names; None (wake every stream) for an empty, cut or foreign payload."""
    if not payload:
        return None
    try:
        topics = json.loads(payload)
    except ValueError:
        return None
    return topics if isinstance(topics, list) and all(isinstance(t, str) for t in topics) else None


class Waiter:
    """One stream's place: armed before it reads, so that a notification that comes while it
    reads is never lost (its next wait returns at once)."""

    def __init__(self, topics: frozenset[str]):
        self.topics = topics
        self._woken = threading.Event()

    def arm(self) -> None:
        self._woken.clear()

    def wake(self) -> None:
        self._woken.set()

    def wait(self, timeout: float) -> None:
        self._woken.wait(timeout)


class Wakeup:
    """The waiters by topic. `generation` counts notifications (of any topic), for tests and metrics."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_topic: dict[str, set[Waiter]] = {}
        self._generation = 0

    def generation(self) -> int:
        return self._generation

    def subscribe(self, topics: Iterable[str]) -> Waiter:
        waiter = Waiter(frozenset(topics))
        with self._lock:
            for topic in waiter.topics:
                self._by_topic.setdefault(topic, set()).add(waiter)
        return waiter

    def unsubscribe(self, waiter: Waiter) -> None:
        with self._lock:
            for topic in waiter.topics:
                waiters = self._by_topic.get(topic)
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        del self._by_topic[topic]

    def notify(self, topics: Iterable[str] | None = None) -> None:
        """Wake the waiters of these topics; None: every waiter."""
        with self._lock:
            self._generation += 1
            if topics is None:
                woken = {waiter for waiters in self._by_topic.values() for waiter in waiters}
            else:
                woken = {waiter for topic in topics for waiter in self._by_topic.get(topic, ())}
        for waiter in woken:
            waiter.wake()


def events_listener(database_url: str, wakeup: Wakeup, stopped: threading.Event) -> PostgresListener:
    return PostgresListener(database_url, CHANNEL, lambda payload: wakeup.notify(topics_of_payload(payload)),
                            stopped)
