"""Deliveries: written with the status change they announce, claimed by a dispatcher, recorded.

A delivery is made for each status event (app.orders.events) whose status differs from the
order's previous one, for the order's own callback and each default callback of its account,
in the transaction that inserts the event (an announcer of app.orders.events): it commits with
the change or not at all. Claiming pushes
`next_attempt_at` forward by a lease with a conditional UPDATE (after SELECT ... FOR UPDATE SKIP
LOCKED on PostgreSQL), so two dispatchers never take the same delivery at once, and one whose
dispatcher died is due again when its lease runs out: at least once, always with the same id."""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import utcnow
from app.orders.events import ANNOUNCERS, EventKind
from app.orders.models import Order, OrderEvent
from app.status import AttemptOutcome, DeliveryStatus
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

EVENT_PREFIX = "order."


def new_delivery_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _previous_statuses(session: Session, order_ids: set[str]) -> dict[str, str | None]:
    """Each order's last stored status event's status, in one query (None: it has none)."""
    last = (sa.select(OrderEvent.order_id, sa.func.max(OrderEvent.id).label("id"))
            .where(OrderEvent.order_id.in_(order_ids), OrderEvent.kind == EventKind.STATUS)
            .group_by(OrderEvent.order_id).subquery())
    rows = session.execute(sa.select(OrderEvent.order_id, OrderEvent.data).join(last, OrderEvent.id == last.c.id))
    found = {order_id: (data or {}).get("status") for order_id, data in rows}
    return {order_id: found.get(order_id) for order_id in order_ids}


_ENDPOINTS = (sa.select(WebhookEndpoint.account, WebhookEndpoint.url)
              .where(WebhookEndpoint.account.in_(sa.bindparam("accounts", expanding=True)))
              .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id))  # built once: every order placed reads it


def _endpoints(session: Session, accounts: set[str]) -> dict[str, list[str]]:
    """Each account's default callbacks, in one query, in the order they were made."""
    urls: dict[str, list[str]] = {account: [] for account in accounts}
    for account, url in session.execute(_ENDPOINTS, {"accounts": list(accounts)}):
        urls[account].append(url)
    return urls


def _deliveries_of_status_events(session: Session, pending: list[OrderEvent]) -> None:
    events = [event for event in pending if event.kind == EventKind.STATUS]
    if not events:
        return
    # A new order is pending in the session, not yet in its identity map (nor in the database).
    new_orders = {item.id: item for item in session.new if isinstance(item, Order)}
    with session.no_autoflush:
        orders = {order_id: new_orders.get(order_id) or session.get(Order, order_id)
                  for order_id in {event.order_id for event in events}}
        orders = {order_id: order for order_id, order in orders.items() if order is not None}
        # An order being placed (new, or flushed already on PostgreSQL) has no status event stored yet.
        first = {*new_orders, *(event.order_id for event in events if getattr(event, "first_status", False))}
        stored = set(orders) - first
        last_seen = {**dict.fromkeys(first), **(_previous_statuses(session, stored) if stored else {})}
        endpoints = _endpoints(session, {order.account for order in orders.values()})
        for event in sorted(events, key=lambda item: item.time):
            status = event.data.get("status")
            if (order := orders.get(event.order_id)) is None or last_seen.get(order.id) == status:
                continue  # only the status message changed
            last_seen[order.id] = status
            for url in dict.fromkeys([*([order.callback] if order.callback else []), *endpoints[order.account]]):
                session.add(WebhookDelivery(
                    id=new_delivery_id(), order_id=order.id, account=order.account, url=url,
                    event_type=f"{EVENT_PREFIX}{status}", status=DeliveryStatus.PENDING, created_at=event.time,
                    next_attempt_at=event.time, claims=0))


ANNOUNCERS.append(_deliveries_of_status_events)


def claim_due(session: Session, limit: int, lease_seconds: float, retry_seconds: float) -> list[str]:
    """Take up to `limit` due deliveries for this dispatcher; committed before they are sent."""
    if limit <= 0:
        return []
    now = utcnow()
    # Past its time and its lease: its dispatchers kept dying before recording an attempt.
    session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
               WebhookDelivery.deadline < now - timedelta(seconds=lease_seconds))
        .values(status=DeliveryStatus.FAILED, next_attempt_at=None, finished_at=now)
        .execution_options(synchronize_session=False))
    candidates = list(session.scalars(
        sa.select(WebhookDelivery.id).where(WebhookDelivery.status == DeliveryStatus.PENDING,
                                            WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit).with_for_update(skip_locked=True)))
    claimed = []
    for delivery_id in candidates:
        result = session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.PENDING,
                   WebhookDelivery.next_attempt_at <= now)
            .values(next_attempt_at=now + timedelta(seconds=lease_seconds), claims=WebhookDelivery.claims + 1,
                    deadline=sa.func.coalesce(WebhookDelivery.deadline, now + timedelta(seconds=retry_seconds)))
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            claimed.append(delivery_id)
    session.commit()
    return claimed


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    outcome: AttemptOutcome
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None


def retry_delay(attempt: int, first_seconds: float, max_seconds: float) -> float:
    """Exponential backoff with jitter: about first * 2^(attempt-1), capped, drawn from its upper half
    so that receivers that failed together are not all retried at the same instant."""
    delay = min(max_seconds, first_seconds * 2 ** min(attempt - 1, 30))
    return random.uniform(delay / 2, delay)


MAX_ERROR_CHARS = 500


def record_attempt(session: Session, delivery_id: str, outcome: Outcome, first_retry_seconds: float,
                   max_retry_interval_seconds: float) -> WebhookDelivery | None:
    """Keep an attempt and decide what follows: done, another attempt later, or failed."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        session.rollback()
        return delivery
    number = len(delivery.attempts) + 1
    delivery.attempts.append(WebhookAttempt(
        number=number, started_at=outcome.started_at, duration_ms=outcome.duration_ms, outcome=outcome.outcome,
        status_code=outcome.status_code, error=(outcome.error or None) and outcome.error[:MAX_ERROR_CHARS]))
    now = utcnow()
    if outcome.outcome == AttemptOutcome.SUCCEEDED:
        delivery.status, delivery.next_attempt_at, delivery.finished_at = DeliveryStatus.SUCCEEDED, None, now
    elif outcome.outcome == AttemptOutcome.REFUSED or delivery.deadline is None or now >= delivery.deadline:
        delivery.status, delivery.next_attempt_at, delivery.finished_at = DeliveryStatus.FAILED, None, now
    else:
        delay = retry_delay(number, first_retry_seconds, max_retry_interval_seconds)
        delivery.next_attempt_at = min(now + timedelta(seconds=delay), delivery.deadline)
    session.commit()
    return delivery


def order_deliveries(order_id: str) -> sa.Select:
    return sa.select(WebhookDelivery).where(WebhookDelivery.order_id == order_id)
