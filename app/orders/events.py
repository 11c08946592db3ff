"""Recording what happens to an order as events, read back by the event streams (app.orders.streams).

An event is kept aside until its session commits and inserted then, so it commits with the change
it describes; what follows from it in the same transaction (the webhooks' deliveries) is made by
the announcers, first. On PostgreSQL event ids commit in increasing order, so a reader that has
seen an id has seen every smaller one (a sequence alone gives ids in the order they are drawn,
not committed): a deferred trigger (migration 0011) takes a transaction-scoped advisory lock
inside the COMMIT and gives the transaction's events their ids there, in the order they were
inserted. The lock is held only while the server commits, never across a round trip to a client
(held from the insert to the client's COMMIT, it was what concurrent orders queued for). SQLite
has one writer at a time, which gives the same."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.artifacts.models import Artifact
from app.db import utcnow
from app.orders.models import Order, OrderEvent
from app.work_signal import WORK_CHANNEL, take_work_notice

EVENTS_LOCK = 7_214_965_331  # the advisory lock that orders event commits (taken by migration 0011's trigger)
CHANNEL = "order_events"  # NOTIFY channel; the payload: a JSON list of the topics (app.orders.wakeup)
MAX_NOTIFY_BYTES = 7000  # PostgreSQL's payload limit is 8000; beyond it the payload is empty: wake all
_PENDING = "marketplace_order_events"
# What must be written with events in their transaction (app.webhooks.deliveries registers one):
# called with the session and the events about to be inserted, before anything is flushed.
ANNOUNCERS: list[Callable[[Session, list[OrderEvent]], None]] = []
# The events and the NOTIFY in one round trip, the events inserted in their order (which their ids,
# given at commit, keep). The work NOTIFY (app.work_signal) comes along when the commit owes one.
_INSERT_EVENTS = """
WITH inserted AS (
    INSERT INTO order_events (order_id, kind, time, data)
    SELECT e.event->>'order_id', e.event->>'kind', CAST(e.event->>'time' AS timestamptz), e.event->'data'
    FROM jsonb_array_elements(CAST(:events AS jsonb)) WITH ORDINALITY AS e(event, n)
    ORDER BY e.n
    RETURNING 1)
SELECT pg_notify(:channel, :payload){work} FROM (SELECT count(*) FROM inserted) AS done"""
_INSERT = {work: sa.text(_INSERT_EVENTS.format(work=", pg_notify(:work_channel, '')" if work else ""))
           for work in (False, True)}


class EventKind(StrEnum):
    STATUS = "status"    # the order's status or its message changed
    LOGS = "logs"        # new log lines were kept (the logs endpoint has them)
    TASK = "task"        # a step of the order changed
    PRODUCT = "product"  # a product was registered


def record(session: Session, order_id: str, kind: EventKind, data: dict[str, Any]) -> None:
    """Append an event (data: the JSON the stream sends, hyphenated keys) when the session commits."""
    session.info.setdefault(_PENDING, []).append(OrderEvent(order_id=order_id, kind=kind, time=utcnow(), data=data))


def status_changed(session: Session, order: Order) -> None:
    record(session, order.id, EventKind.STATUS, {"status": str(order.status), "status-message": order.status_message})
    # The first status of an order being placed: nothing before it to compare with (webhooks).
    state = sa.inspect(order)
    session.info[_PENDING][-1].first_status = state.transient or state.pending


def logs_kept(session: Session, order_id: str, first_seq: int, count: int) -> None:
    if count:
        record(session, order_id, EventKind.LOGS, {"count": count, "first-seq": first_seq,
                                                   "last-seq": first_seq + count - 1})


def tasks_changed(session: Session, order_id: str, before: list[dict] | None, after: list[dict]) -> None:
    """One event per task that is new or differs from what was last seen."""
    previous = {task.get("name"): task for task in before or []}
    for task in after:
        if previous.get(task.get("name")) != task:
            record(session, order_id, EventKind.TASK, {key.replace("_", "-"): value for key, value in task.items()})


def products_added(session: Session, products: Iterable[Artifact]) -> None:
    for product in products:
        record(session, product.order_id, EventKind.PRODUCT, {"artifact-id": product.id, "name": product.name,
                                                              "size": product.size, "mime-type": product.mime_type})


def order_topic(order_id: str) -> str:
    return f"order {order_id}"


def account_topic(account: str) -> str:
    return f"account {account}"


def _notify_payload(session: Session, order_ids: set[str]) -> str:
    """The topics of these orders' events: each order, and the account that placed it (whose
    list stream follows it)."""
    accounts, unknown = set(), []
    for order_id in order_ids:
        order = session.identity_map.get(session.identity_key(Order, order_id))
        if order is None:
            unknown.append(order_id)
        else:
            accounts.add(order.account)
    if unknown:
        accounts |= set(session.scalars(sa.select(Order.account).where(Order.id.in_(unknown))))
    topics = sorted({*map(order_topic, order_ids), *map(account_topic, accounts)})
    payload = json.dumps(topics, separators=(",", ":"))
    return payload if len(payload.encode()) <= MAX_NOTIFY_BYTES else ""


# First of the listeners (insert=True): app.work_signal's sends its NOTIFY alone if this has not.
@sa.event.listens_for(Session, "before_commit", insert=True)
def _insert_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    for announce in ANNOUNCERS:
        announce(session, pending)
    if session.get_bind().dialect.name != "postgresql":
        session.add_all(pending)
        return
    session.flush()
    payload = _notify_payload(session, {event.order_id for event in pending})
    rows = [{"order_id": event.order_id, "kind": str(event.kind), "time": event.time.isoformat(),
             "data": event.data} for event in pending]
    work = take_work_notice(session)
    session.execute(_INSERT[work], {"events": json.dumps(rows), "channel": CHANNEL,
                                    "payload": payload, **({"work_channel": WORK_CHANNEL} if work else {})})


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction) -> None:
    """A rolled back (or closed) transaction's events never happened."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
