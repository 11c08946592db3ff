"""LISTEN on a PostgreSQL channel in a thread with its own connection (not one of the pool's),
handing each NOTIFY's payload to a callback; None when the connection was (re)made, since
whatever was notified while nobody listened is lost."""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import psycopg
import sqlalchemy as sa

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 2.0


class PostgresListener:
    """Started on demand, and again in a forked child: gunicorn forks after the app is built, and
    a thread does not survive a fork."""

    def __init__(self, database_url: str, channel: str, on_notify: Callable[[str | None], None],
                 stopped: threading.Event):
        self._stopped = stopped
        url = sa.engine.make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._channel = channel
        self._on_notify = on_notify
        self._lock = threading.Lock()
        self._pid: int | None = None
        self.listening = threading.Event()

    def ensure_started(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self.listening = threading.Event()
                threading.Thread(target=self._run, name=f"{self._channel}-listener", daemon=True).start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {self._channel}")
                    self.listening.set()
                    self._on_notify(None)  # whatever committed while nobody listened
                    while not self._stopped.is_set():
                        # A timeout, so that a closed application's listener ends.
                        for notification in connection.notifies(timeout=RECONNECT_SECONDS, stop_after=1):
                            self._on_notify(notification.payload)
            except psycopg.Error as error:
                self.listening.clear()
                if not self._stopped.is_set():
                    log.warning("%s listener lost its connection, reconnecting: %s", self._channel, error)
            self._on_notify(None)
            self._stopped.wait(RECONNECT_SECONDS)
