"""Waking the event streams of this process when events commit. Streams wait on one Wakeup; on
PostgreSQL one listening connection per process (LISTEN order_events) fans each NOTIFY out to
them, on SQLite they wake every poll interval and look."""
from __future__ import annotations

import logging
import os
import threading

import psycopg
import sqlalchemy as sa

from app.orders.events import CHANNEL

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 2.0


class Wakeup:
    """A generation counter: a stream notes it, reads, and waits for it to change. Noting it
    before reading means a notification that comes while reading is never lost."""

    def __init__(self):
        self._condition = threading.Condition()
        self._generation = 0

    def generation(self) -> int:
        return self._generation

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self._generation != seen, timeout)


class PostgresListener:
    """A thread with its own connection (not one of the pool's) that LISTENs and wakes streams.
    Started by the first stream of a process: gunicorn forks after the app is built, and a thread
    does not survive a fork."""

    def __init__(self, database_url: str, wakeup: Wakeup, stopped: threading.Event):
        self._stopped = stopped
        url = sa.engine.make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._wakeup = wakeup
        self._lock = threading.Lock()
        self._pid: int | None = None
        self.listening = threading.Event()

    def ensure_started(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self.listening = threading.Event()
                threading.Thread(target=self._run, name="order-events-listener", daemon=True).start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self._wakeup.notify()  # whatever committed while nobody listened
                    while not self._stopped.is_set():
                        # A timeout, so that a closed application's listener ends.
                        for _notification in connection.notifies(timeout=RECONNECT_SECONDS, stop_after=1):
                            self._wakeup.notify()
            except psycopg.Error as error:
                self.listening.clear()
                if not self._stopped.is_set():
                    log.warning("order events listener lost its connection, reconnecting: %s", error)
            self._wakeup.notify()
            self._stopped.wait(RECONNECT_SECONDS)
