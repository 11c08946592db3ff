"""Telling the worker that there is work, so that it starts at once instead of at its next pass.

A change that gives the worker something to do (an order placed, a cancel asked, a service
published) calls `work_waiting(session)`; when that session commits, the waiting worker of this
process wakes (the embedded mode: API and worker in one process), and on PostgreSQL a NOTIFY on
WORK_CHANNEL, sent by the commit itself, wakes the workers of every other process (they LISTEN,
app.worker.wakeup). On SQLite, workers in other processes see commits by a short poll of
`PRAGMA data_version` instead. A lost signal costs at most the worker's interval: it still
passes over everything on its own."""
from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy.orm import Session

WORK_CHANNEL = "marketplace_work"
_FLAG = "marketplace_work_waiting"
_SENT = "marketplace_work_notified"  # the NOTIFY went with another statement (app.orders.events)


class Wakeup:
    """A generation counter: a waiter notes it, looks, and waits for it to change. Noting it
    before looking means a notification that comes while looking is never lost."""

    def __init__(self):
        self._condition = threading.Condition()
        self._generation = 0

    def generation(self) -> int:
        return self._generation

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Whether the generation changed (False: the timeout passed)."""
        with self._condition:
            return self._condition.wait_for(lambda: self._generation != seen, timeout)


# This process's worker waits on it (if this process runs one).
WORK = Wakeup()


def work_waiting(session: Session) -> None:
    """The worker has something to do once this session commits."""
    session.info[_FLAG] = True


def take_work_notice(session: Session) -> bool:
    """Whether this session's commit must tell other processes' workers, on PostgreSQL; a caller
    told so sends `pg_notify(WORK_CHANNEL, '')` in a statement it makes anyway (a round trip fewer)."""
    if session.info.get(_FLAG) and not session.info.get(_SENT) and session.get_bind().dialect.name == "postgresql":
        session.info[_SENT] = True
        return True
    return False


@sa.event.listens_for(Session, "before_commit")
def _notify_other_processes(session: Session) -> None:
    if take_work_notice(session):
        session.execute(sa.select(sa.func.pg_notify(WORK_CHANNEL, "")))  # delivered on commit, not before


@sa.event.listens_for(Session, "after_commit")
def _notify_this_process(session: Session) -> None:
    if session.info.pop(_FLAG, None):
        WORK.notify()


@sa.event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_FLAG, None)
        session.info.pop(_SENT, None)
