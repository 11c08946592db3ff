"""The worker's steps for orders: submit what waits, apply what the backend observed.
Each step is idempotent and committed on its own, so a worker may stop anywhere."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import utcnow
from app.orders import events
from app.orders.logic import finish_order
from app.orders.models import Order, OrderLogLine
from app.status import FINISHED_ORDER_STATUSES, OrderStatus, check_order_transition
from app.worker.order_data import OrderData, keep_products, submission_of
from workflows.backends.base import Backend, BackendUnavailable, LogLine, Observation, Phase

log = logging.getLogger(__name__)

# The one table from what a backend saw of a workload to the order's status.
ORDER_STATUS_OF_PHASE = {
    Phase.WAITING: OrderStatus.SCHEDULED,
    Phase.RUNNING: OrderStatus.EXECUTING,
    Phase.SUCCEEDED: OrderStatus.SUCCEEDED,
    Phase.FAILED: OrderStatus.FAILED,
    Phase.GONE: OrderStatus.ERROR,
}


def _claim(session: Session, *statuses: OrderStatus, batch: int, ids: list[str] | None = None,
           inputs: bool = False) -> list[Order]:
    """Orders to take a step for, with their inputs if asked (a submission carries them); never
    their tags or products, which no step reads (three more queries a batch)."""
    statement = sa.select(Order).where(Order.status.in_(statuses)).options(
        sa.orm.lazyload(Order.tag_rows), sa.orm.lazyload(Order.products),
        sa.orm.selectinload(Order.inputs) if inputs else sa.orm.lazyload(Order.inputs))
    if ids is not None:
        statement = statement.where(Order.id.in_(ids))
    return list(session.scalars(statement.order_by(Order.ordered_at).limit(batch).with_for_update(skip_locked=True)))


def _logs_kept(session: Session, orders: list[Order]) -> dict[str, int]:
    """How many log lines each order has kept, in one query (0 for those with none)."""
    kept = dict(session.execute(sa.select(OrderLogLine.order_id, sa.func.max(OrderLogLine.seq))
                                .where(OrderLogLine.order_id.in_([order.id for order in orders]))
                                .group_by(OrderLogLine.order_id)).all())
    return {order.id: kept.get(order.id, 0) for order in orders}


def _append_logs(session: Session, order: Order, kept: int, lines: list[LogLine]) -> None:
    session.add_all(OrderLogLine(order_id=order.id, seq=kept + 1 + i, time=line.time, task=line.task,
                                 message=line.message) for i, line in enumerate(lines))
    events.logs_kept(session, order.id, kept + 1, len(lines))


def submit_pending_orders(session: Session, backend: Backend, data: OrderData, metrics=None, batch: int = 20) -> int:
    orders = _claim(session, OrderStatus.PENDING, batch=batch, inputs=True)
    for order in orders:
        if order.cancel_requested:
            backend.cancel(order.id)  # in case a submit was cut short by a crash after it started the run
            finish_order(order, OrderStatus.CANCELLED, "cancelled before it started")
            continue
        try:
            backend.submit(submission_of(session, order, data))
        except BackendUnavailable as error:
            log.warning("backend unavailable, submitting later: %s", error, extra={"order_id": order.id})
            _count(metrics, "backend_errors")
            break  # the rest of the batch stays pending for the next pass
        except (OSError, ValueError) as error:
            finish_order(order, OrderStatus.ERROR, f"the backend could not start the order: {error}")
            log.warning("order %s could not start: %s", order.id, error, extra={"order_id": order.id})
            continue
        order.status = check_order_transition(order.status, OrderStatus.SCHEDULED)
        order.started_at = utcnow()
        events.status_changed(session, order)
        _count(metrics, "submissions")
        log.info("order %s submitted", order.id, extra={"order_id": order.id})
    session.commit()
    return len(orders)


def _status_of(order: Order, seen: Observation) -> OrderStatus:
    status = ORDER_STATUS_OF_PHASE[seen.phase]
    if order.cancel_requested and status in (OrderStatus.FAILED, OrderStatus.ERROR):
        return OrderStatus.CANCELLED
    if status == OrderStatus.SCHEDULED and order.status == OrderStatus.EXECUTING:
        return OrderStatus.EXECUTING  # a pod restarted by its Job: the order has started all the same
    return status


def _count(metrics, name: str) -> None:
    if metrics is not None:
        getattr(metrics, name).inc()


RUNNING_ORDER_STATUSES = (OrderStatus.SCHEDULED, OrderStatus.EXECUTING)


def observe_running_orders(session: Session, backend: Backend, data: OrderData, batch: int = 100,
                           metrics=None) -> int:
    """Apply what the backend saw: of the orders with news when it has a change feed (the
    Kubernetes watch, the local launcher), otherwise of every running order; a batch at a time."""
    changed = backend.changed_orders()
    running = Order.status.in_(RUNNING_ORDER_STATUSES)
    if changed is None:
        changed = set(session.scalars(sa.select(Order.id).where(running)))
    else:  # cancel requests are news from our side, not from the backend
        changed |= set(session.scalars(sa.select(Order.id).where(running, Order.cancel_requested.is_(True))))
    steps, pending = 0, sorted(changed)
    for start in range(0, len(pending), batch):
        steps += _observe(session, backend, data, _claim(session, *RUNNING_ORDER_STATUSES, batch=batch,
                                                         ids=pending[start:start + batch]), metrics)
    return steps


def _observe(session: Session, backend: Backend, data: OrderData, orders: list[Order], metrics=None) -> int:
    changed = 0
    logs_kept = _logs_kept(session, orders) if orders else {}
    for order in orders:
        if order.cancel_requested:
            backend.cancel(order.id)
        kept = logs_kept[order.id]
        try:
            seen = backend.observe(order.id, kept)
        except BackendUnavailable as error:
            log.warning("backend unavailable, observing later: %s", error, extra={"order_id": order.id})
            _count(metrics, "backend_errors")
            continue
        _append_logs(session, order, kept, seen.logs)
        if seen.tasks is not None and seen.tasks != order.tasks:
            events.tasks_changed(session, order.id, order.tasks, seen.tasks)
            order.tasks = seen.tasks
        status = _status_of(order, seen)
        if status in FINISHED_ORDER_STATUSES:
            reason = "cancelled on request" if status == OrderStatus.CANCELLED else seen.reason
            if lost := keep_products(session, backend, order, data):
                reason = "; ".join(filter(None, [reason, "products not kept: " + "; ".join(lost)]))
            finish_order(order, status, reason)
            log.info("order %s ended %s", order.id, status, extra={"order_id": order.id})
            changed += 1
        elif (status, seen.reason) != (order.status, order.status_message):
            if status != order.status:
                order.status = check_order_transition(order.status, status)
            order.status_message = seen.reason  # why a scheduled order waits
            events.status_changed(session, order)
            changed += 1
        changed += bool(seen.logs)
    session.commit()
    for order in orders:
        if order.status in FINISHED_ORDER_STATUSES:
            backend.forget(order.id)
    return changed


def stop_orphaned_workloads(session: Session, backend: Backend) -> int:
    """Stop workloads whose orders have ended (or never were): a pending order cancelled while a
    crashed worker had already started it, or a workload left behind by a lost database row."""
    running = backend.unfinished_workloads()
    if not running:
        return 0
    live = set()
    for start in range(0, len(running), 500):
        chunk = sorted(running)[start:start + 500]
        live |= set(session.scalars(sa.select(Order.id).where(
            Order.id.in_(chunk), Order.status.not_in(tuple(FINISHED_ORDER_STATUSES)))))
    session.rollback()
    for order_id in running - live:
        log.warning("stopping the workload of order %s: the order has ended", order_id, extra={"order_id": order_id})
        backend.cancel(order_id)
    return len(running - live)
