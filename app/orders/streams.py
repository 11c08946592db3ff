"""The event streams, without HTTP: which events a stream reads, and the loop that replays them
after a client's last event id and then follows new ones. Events are read from the database with
a short session per read, so a waiting stream holds no connection."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from app.api_errors import ApiError
from app.config import EventStreamSettings
from app.orders.events import EventKind
from app.orders.models import Order, OrderEvent
from app.orders.wakeup import Wakeup, account_topic, events_listener, order_topic
from app.status import FINISHED_ORDER_STATUSES

BATCH = 500  # events per read; a stream far behind reads again at once
STREAMS_FULL_RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Reader:
    """Reads the events after an id: (the events, whether the stream has reached its end); a
    NOTIFY that names one of `topics` wakes the stream to read again."""

    read: Callable[[Session, int], tuple[list[OrderEvent], bool]]
    topics: frozenset[str]


def _is_final(event: OrderEvent) -> bool:
    return event.kind == EventKind.STATUS and event.data.get("status") in FINISHED_ORDER_STATUSES


def order_reader(order_id: str) -> Reader:
    """One order's events, ending with its final status."""
    def read(session: Session, after: int) -> tuple[list[OrderEvent], bool]:
        # The status first: when it is final, the events read after it include the final one.
        status = session.scalar(sa.select(Order.status).where(Order.id == order_id))
        events = list(session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order_id,
                                                                   OrderEvent.id > after)
                                      .order_by(OrderEvent.id).limit(BATCH)))
        for position, event in enumerate(events):
            if _is_final(event):
                return events[:position + 1], True
        return events, not events and status in FINISHED_ORDER_STATUSES
    return Reader(read, frozenset({order_topic(order_id)}))


def orders_reader(orders: sa.Select, account: str) -> Reader:
    """The events of the orders `orders` selects (as they are when the events are read), among
    those `account` placed; no end."""
    ids = orders.with_only_columns(Order.id).order_by(None)

    def read(session: Session, after: int) -> tuple[list[OrderEvent], bool]:
        return list(session.scalars(sa.select(OrderEvent).where(OrderEvent.id > after, OrderEvent.order_id.in_(ids))
                                    .order_by(OrderEvent.id).limit(BATCH))), False
    return Reader(read, frozenset({account_topic(account)}))


@dataclass
class Slot:
    """A place among a process's streams, given back once."""

    release: Callable[[], None]


class EventStreams:
    """This process's streams: their bound, their wakeup and the loop that feeds each."""

    def __init__(self, sessions: sessionmaker, database_url: str, settings: EventStreamSettings):
        self._sessions = sessions
        self.settings = settings
        self.wakeup = Wakeup()
        self._stopped = threading.Event()
        self._listener = None
        if database_url.startswith("postgresql"):
            self._listener = events_listener(database_url, self.wakeup, self._stopped)
        # With NOTIFY, reading again without one is only a fallback for a lost listener connection.
        self._wait_seconds = settings.poll_seconds * (10 if self._listener else 1)
        self._open = 0
        self._lock = threading.Lock()

    def open(self) -> Slot:
        """A slot for one more stream, or 503 when this process holds as many as it may."""
        with self._lock:
            if self._open >= self.settings.per_process:
                raise ApiError(f"this server follows {self._open} event streams, the most it may; reconnect "
                               f"later (another replica may have room)", status_code=503,
                               headers={"Retry-After": str(STREAMS_FULL_RETRY_AFTER_SECONDS)})
            self._open += 1
        if self._listener is not None:
            self._listener.ensure_started()
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if not released.is_set():
                    released.set()
                    self._open -= 1
        return Slot(release)

    @property
    def open_streams(self) -> int:
        return self._open

    def close(self) -> None:
        """End every stream at its next wakeup, and the listener: the application is going away."""
        self._stopped.set()
        self.wakeup.notify()

    def follow(self, read: Reader, after: int, follow: bool = True) -> Iterator[OrderEvent | None]:
        """The events after `after`, and None for a heartbeat when none came for a while. Ends
        when `read` says so, after the replay when `follow` is false, or after max_seconds."""
        started = last_sent = time.monotonic()
        waiter = self.wakeup.subscribe(read.topics)
        try:
            while True:
                waiter.arm()
                with self._sessions() as session:
                    events, ended = read.read(session, after)
                    session.expunge_all()
                for event in events:
                    yield event
                    after = event.id
                now = time.monotonic()
                if events:
                    last_sent = now
                if ended or not follow or now - started >= self.settings.max_seconds or self._stopped.is_set():
                    return
                if len(events) == BATCH:
                    continue
                if now - last_sent >= self.settings.heartbeat_seconds:
                    yield None
                    last_sent = now
                waiter.wait(min(self._wait_seconds, self.settings.heartbeat_seconds - (now - last_sent)))
        finally:
            self.wakeup.unsubscribe(waiter)
