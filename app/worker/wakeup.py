"""What wakes the worker between its passes when the work comes from another process: on
PostgreSQL a NOTIFY on the work channel (sent by the commit that stored the work, app.work_signal),
on SQLite a short poll of `PRAGMA data_version`, which changes when another connection commits."""
from __future__ import annotations

import logging
import sqlite3
import threading

import sqlalchemy as sa

from app.listen import PostgresListener
from app.work_signal import WORK_CHANNEL, Wakeup

log = logging.getLogger(__name__)
SQLITE_POLL_SECONDS = 0.05


def watch_other_processes(database_url: str, wakeup: Wakeup, stop: threading.Event) -> None:
    """Wake `wakeup` when another process commits work, until `stop` is set."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "postgresql":
        PostgresListener(database_url, WORK_CHANNEL, lambda _payload: wakeup.notify(), stop).ensure_started()
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        threading.Thread(target=_poll_sqlite, args=(url.database, wakeup, stop), name="sqlite-changes",
                         daemon=True).start()


def _poll_sqlite(path: str, wakeup: Wakeup, stop: threading.Event) -> None:
    connection, seen = None, None
    while not stop.wait(SQLITE_POLL_SECONDS):
        try:
            if connection is None:
                connection = sqlite3.connect(path, check_same_thread=False)
            version = connection.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as error:
            log.warning("could not read the database's change counter: %s", error)
            connection = None
            continue
        if seen is not None and version != seen:
            wakeup.notify()
        seen = version
    if connection is not None:
        connection.close()
