"""What may be done with orders, decided here; the views only parse and render."""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.api_errors import ApiError, Conflict, Forbidden, InvalidParameterValue, NotFound, TooManyRequests
from app.artifacts import logic as artifacts
from app.artifacts.models import Artifact
from app.artifacts.storage import ContentTooLarge, Store
from app.callback_urls import IPNetwork, require_callback
from app.config import AccountLimits, ArtifactSettings
from app.db import ID_LENGTH, utcnow
from app.direct_reads import QuickRead
from app.orders import events
from app.orders.models import Order, OrderLogLine
from app.ownership import require_owner
from app.services.logic import get_service
from app.services.models import Service
from app.status import (
    ACTIVE_ORDER_STATUSES,
    FINISHED_ORDER_STATUSES,
    OrderStatus,
    ServiceStatus,
    check_order_transition,
)
from app.work_signal import work_waiting
from workflows.compile import dry_run, value_problems
from workflows.names import PLACEHOLDER_ORDER_ID
from workflows.parameters import ParameterValueError, resolve_order_values
from workflows.settings import CompileSettings


def new_order_id() -> str:
    return f"urn:marketplace:order:{uuid.uuid4()}"


def _find_by_key(session: Session, account: str, key: str) -> Order | None:
    return session.scalars(sa.select(Order).where(Order.account == account, Order.idempotency_key == key)).first()


# What placing an order checks of its service: not its tags or metadata (loaded if ever read).
_CHECKED_OF_SERVICE = (sa.orm.lazyload(Service.tag_rows), sa.orm.lazyload(Service.metadata_rows))
_NO_SERVICE = "no service has this id"


def get_service_for_order(session: Session, service_id: str) -> Service:
    service = session.get(Service, service_id) if len(service_id) <= ID_LENGTH else None
    if service is None:
        raise InvalidParameterValue(_NO_SERVICE, name="service-id", value=service_id)
    return service


def _resolve(service: Service, given: list[dict[str, Any]]) -> list[tuple[str, str]]:
    try:
        values = resolve_order_values(service.parameters, given)
    except ParameterValueError as error:
        raise InvalidParameterValue(error.message, name=error.name, value=error.value) from None
    for problem in value_problems(service.workflow, values):
        raise InvalidParameterValue(problem.message, name=problem.path, value=problem.value)
    return values


def _artifact_values(service: Service, values: list[tuple[str, str]]) -> dict[str, str]:
    """The values of `artifact` parameters that name an artifact of this marketplace (a URL or
    another urn: is passed on as it is)."""
    types = {definition["name"]: definition["type"] for definition in service.parameters}
    return {name: value for name, value in values if types.get(name) == "artifact" and artifacts.is_artifact_id(value)}


# The service an order is placed for (what placing checks of it: not its tags or metadata) and how
# many orders its account has waiting or running, counted up to the limit and no further (the index
# range read is as short as the limit), in one statement built once.
_ACTIVE_ORDERS = sa.select(sa.func.count()).select_from(
    sa.select(sa.literal(1)).where(Order.account == sa.bindparam("account"), Order.status.in_(ACTIVE_ORDER_STATUSES))
    .limit(sa.bindparam("limit")).subquery()).scalar_subquery()
_SERVICE_AND_ACTIVE_ORDERS = (sa.select(Service, _ACTIVE_ORDERS).where(Service.id == sa.bindparam("service_id"))
                              .options(*_CHECKED_OF_SERVICE))


def _orderable_service(session: Session, service_id: str, account: str, limit: int) -> tuple[Service, int]:
    """The service, ready to be ordered, and the count of the account's active orders (up to `limit`)."""
    row = session.execute(_SERVICE_AND_ACTIVE_ORDERS, {"service_id": service_id, "account": account,
                                                       "limit": limit}).first() \
        if len(service_id) <= ID_LENGTH else None
    if row is None:
        raise InvalidParameterValue(_NO_SERVICE, name="service-id", value=service_id)
    service, active = row
    if service.status != ServiceStatus.READY:
        raise Conflict(f"the service is {service.status}: only a ready service can be ordered", id=service.id)
    return service, active


IDEMPOTENCY_HEADER = "Idempotency-Key"
ACTIVE_ORDERS_RETRY_AFTER_SECONDS = 30


def request_digest(request: dict[str, Any]) -> str:
    """Of the order request as read (keys in a fixed order), to recognise a retry of it."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _replay(existing: Order, digest: str) -> tuple[Order, bool]:
    if existing.request_digest not in (None, digest):
        raise InvalidParameterValue(f"this {IDEMPOTENCY_HEADER} was sent with another request: a new order "
                                    "needs a new key", name=IDEMPOTENCY_HEADER, value=existing.idempotency_key)
    return existing, False


def _check_active_orders(active: int, limit: int) -> None:
    if active >= limit:
        raise TooManyRequests(f"this account has {active} orders waiting or running, the most it may have at "
                              f"once; order again when one has ended",
                              headers={"Retry-After": str(ACTIVE_ORDERS_RETRY_AFTER_SECONDS)})


def place_order(session: Session, account: str, request: dict[str, Any], limits: AccountLimits,
                idempotency_key: str | None = None, callback_networks: Iterable[IPNetwork] = ()) -> tuple[Order, bool]:
    """Check the values against the service's definitions and keep them with a snapshot of its
    workflow. Returns the order and whether it is new (False: replayed by Idempotency-Key)."""
    digest = request_digest(request)
    try:
        service, active = _orderable_service(session, request["service_id"], account, limits.active_orders)
        values = _resolve(service, request["parameters"])
        if request.get("callback") is not None:
            require_callback(request["callback"], callback_networks)
        inputs = artifacts.order_inputs(session, account, _artifact_values(service, values))
        _check_active_orders(active, limits.active_orders)
    except ApiError:
        # A retry is answered its order whatever has changed since (the service, the count of
        # active orders); looked up only here and when the insert finds the key taken, so that
        # a first POST with a key costs no query more than one without.
        if idempotency_key and (existing := _find_by_key(session, account, idempotency_key)):
            return _replay(existing, digest)
        raise
    order = Order(id=new_order_id(), name=request.get("name"), account=account, service_id=service.id,
                  service_owner=service.owner, service_version=service.version,
                  service_incarnation=service.incarnation, status=OrderStatus.PENDING,
                  parameters=[{"name": name, "value": value} for name, value in values],
                  workflow=service.workflow, idempotency_key=idempotency_key, request_digest=digest,
                  callback=request.get("callback"))
    order.tags = request["tags"]
    order.inputs = inputs
    order.products = []  # known to be none: the answer shows them without asking the database
    session.add(order)
    events.status_changed(session, order)
    work_waiting(session)
    try:
        session.commit()
    except IntegrityError:
        # The key is taken (a retry, or a concurrent POST with it that won the race): answer its order.
        session.rollback()
        if idempotency_key and (existing := _find_by_key(session, account, idempotency_key)):
            return _replay(existing, digest)
        raise
    return order, True


def _visible_to(account: str):
    """An order is seen by the consumer who placed it and by the provider of its service."""
    return sa.or_(Order.account == account, Order.service_owner == account)


# An order read to be shown: its tags and inputs in the same query, its products in one more;
# read for anything else, none of them unless asked for.
_ORDER_AS_SHOWN = (sa.orm.joinedload(Order.tag_rows), sa.orm.joinedload(Order.inputs),
                   sa.orm.selectinload(Order.products))
_ORDER_ALONE = (sa.orm.lazyload(Order.tag_rows), sa.orm.lazyload(Order.inputs), sa.orm.lazyload(Order.products))


def get_order(session: Session, account: str, order_id: str, shown: bool = False) -> Order:
    statement = sa.select(Order).where(Order.id == order_id, _visible_to(account))
    order = session.scalars(statement.options(*(_ORDER_AS_SHOWN if shown else _ORDER_ALONE))).unique().one_or_none()
    if order is None:
        # The same answer as for an id that does not exist, so ids cannot be probed.
        raise NotFound("no order has this id", id=order_id)
    return order


def order_etag_parts(order_id: str, revision: int, account: str) -> tuple:
    """What an order's ETag is made of (app.conditional), per caller: its consumer sees the
    order's data, the service's provider does not."""
    return ("order", order_id, revision, account)


_ORDER_REVISION = QuickRead(sa.select(Order.revision).where(Order.id == sa.bindparam("order_id"),
                                                           _visible_to(sa.bindparam("account"))))


def current_order_etag_parts(engine: sa.Engine, account: str, order_id: str) -> tuple:
    """Those of the order as stored now, after one indexed read of its revision; NotFound for an
    order the caller may not see, as get_order (a tag never confirms that an id exists)."""
    row = _ORDER_REVISION.first(engine, order_id=order_id, account=account)
    if row is None:
        raise NotFound("no order has this id", id=order_id)
    return order_etag_parts(order_id, row[0], account)


def own_orders(account: str) -> sa.Select:
    """The caller's own orders."""
    return sa.select(Order).where(Order.account == account)


def service_orders(session: Session, account: str, service_id: str) -> sa.Select:
    """All of a service's orders for its provider; a consumer's own ones for anybody else. Only
    the orders of this incarnation: an id deleted and published again starts with none."""
    service = get_service(session, service_id)
    statement = sa.select(Order).where(Order.service_id == service.id,
                                       Order.service_incarnation == service.incarnation)
    if service.owner != account:
        statement = statement.where(Order.account == account)
    return statement


def cancel_order(session: Session, account: str, order_id: str) -> Order:
    """A pending order ends at once; a running one is stopped by the worker within a pass."""
    order = get_order(session, account, order_id)
    require_owner(order.account, account, order.id, "only the account that placed an order may cancel it")
    if order.status in FINISHED_ORDER_STATUSES:
        raise Conflict(f"the order has already ended: {order.status}", id=order.id)
    session.refresh(order, with_for_update=True)  # the worker may be claiming it right now
    if order.status == OrderStatus.PENDING:
        finish_order(order, OrderStatus.CANCELLED, "cancelled before it started")
    elif order.status not in FINISHED_ORDER_STATUSES:
        order.cancel_requested = True
        work_waiting(session)
    session.commit()
    return order


def finish_order(order: Order, status: OrderStatus, message: str | None) -> None:
    order.status = check_order_transition(order.status, status)
    order.status_message = message
    order.finished_at = utcnow()
    events.status_changed(sa.orm.object_session(order), order)


def order_logs(session: Session, account: str, order_id: str) -> sa.Select:
    """The log lines of an order the caller may see."""
    order = get_order(session, account, order_id)
    return sa.select(OrderLogLine).where(OrderLogLine.order_id == order.id)


def products_of_order(session: Session, account: str, order_id: str) -> sa.Select:
    """An order's products, for its consumer; the service's provider sees the order, not its data."""
    order = get_order(session, account, order_id)
    if order.account != account:
        raise NotFound("no order of yours has this id", id=order_id)
    return artifacts.order_products(order.id)


def _check_product_name(name: str) -> str:
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise InvalidParameterValue("name: a relative path in the outputs folder, without '.' or '..' parts",
                                    name="name", value=name)
    return name


def accept_product(session: Session, store: Store, settings: CompileSettings, artifact_settings: ArtifactSettings,
                   workload_order: str | None, order_id: str, name: str, mime_type: str | None,
                   chunks: Iterable[bytes]) -> Artifact:
    """A file the order's workload left, uploaded by its collector with the order's own token."""
    if workload_order is None:
        raise Forbidden("only the order's workload uploads its products", id=order_id)
    order = session.get(Order, order_id) if workload_order == order_id else None
    if order is None:
        raise NotFound("no order has this id", id=order_id)
    _check_product_name(name)
    count, used = artifacts.product_count_and_bytes(session, order.id)
    if count >= settings.max_products:
        raise InvalidParameterValue(f"an order may leave at most {settings.max_products} products",
                                    name="name", value=name)
    allowance = min(artifact_settings.max_bytes, settings.max_product_bytes - used)
    known = session.scalars(artifacts.order_products(order.id).where(Artifact.name == name)).first()
    try:
        product = artifacts.add_product(session, store, artifact_settings, order.id, order.account, name,
                                        mime_type, chunks, max(allowance, 0))
        if known is None:
            events.products_added(session, [product])
        session.commit()
    except ContentTooLarge:
        raise ApiError(f"the order's products may be at most {settings.max_product_bytes} bytes in all, "
                       f"and each at most {artifact_settings.max_bytes}", status_code=413) from None
    except IntegrityError:  # the same name, uploaded twice at once: the first stays
        session.rollback()
        product = session.scalars(artifacts.order_products(order.id).where(Artifact.name == name)).one()
    return product


def dry_run_order(session: Session, request: dict[str, Any], settings: CompileSettings,
                  callback_networks: Iterable[IPNetwork] = ()) -> dict[str, Any]:
    """What an order would run, checked and compiled; nothing is stored or submitted. A service
    need not be ready: providers use this to see their workflow compiled."""
    service = get_service_for_order(session, request["service_id"])
    values = _resolve(service, request["parameters"])
    if request.get("callback") is not None:
        require_callback(request["callback"], callback_networks)
    result = {"service": service, "parameters": [{"name": n, "value": v} for n, v in values]}
    manifest, problems = dry_run(PLACEHOLDER_ORDER_ID, service.id, service.workflow, values, settings)
    return {**result, "manifest": manifest, "problems": problems}


def order_tasks(session: Session, account: str, order_id: str) -> list[dict[str, Any]]:
    """The steps of an order: an argo order's nodes as the backend last saw them; a basic order
    has one, its container `main`, which lives and ends with the order."""
    order = get_order(session, account, order_id)
    if order.tasks is not None:
        return [{**task, "started_at": _timestamp(task.get("started_at")),
                 "finished_at": _timestamp(task.get("finished_at"))} for task in order.tasks]
    return [{"name": "main", "phase": order.status, "started_at": order.started_at,
             "finished_at": order.finished_at, "message": order.status_message}]


def _timestamp(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
