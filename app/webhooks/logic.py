"""What may be done with webhooks, decided here: an account's default callbacks and its secret,
and the deliveries of an order (its consumer's alone)."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api_errors import Conflict, NotFound
from app.callback_urls import require_callback
from app.config import WebhookSettings
from app.db import ID_LENGTH, utcnow
from app.direct_reads import QuickRead
from app.orders.logic import get_order
from app.webhooks import deliveries, secrets
from app.webhooks.models import WebhookEndpoint


def new_endpoint_id() -> str:
    return f"urn:marketplace:webhook:{uuid.uuid4()}"


def own_endpoints(account: str) -> sa.Select:
    return sa.select(WebhookEndpoint).where(WebhookEndpoint.account == account)


def endpoint_etag_parts(endpoint_id: str, account: str) -> tuple:
    """What a webhook's ETag is made of (app.conditional): nothing of it changes once created, and
    its id is never given again, so no revision is needed."""
    return ("webhook", endpoint_id, account)


_ENDPOINT_EXISTS = QuickRead(sa.select(WebhookEndpoint.id).where(WebhookEndpoint.id == sa.bindparam("endpoint_id"),
                                                                WebhookEndpoint.account == sa.bindparam("account")))


def current_endpoint_etag_parts(engine: sa.Engine, account: str, endpoint_id: str) -> tuple:
    """Those of the webhook, after one indexed read that it is still there; NotFound as get_endpoint."""
    found = None
    if len(endpoint_id) <= ID_LENGTH:
        found = _ENDPOINT_EXISTS.first(engine, endpoint_id=endpoint_id, account=account)
    if found is None:
        raise NotFound("no webhook of yours has this id", id=endpoint_id)
    return endpoint_etag_parts(endpoint_id, account)


def get_endpoint(session: Session, account: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = None
    if len(endpoint_id) <= ID_LENGTH:
        endpoint = session.scalars(own_endpoints(account).where(WebhookEndpoint.id == endpoint_id)).first()
    if endpoint is None:
        raise NotFound("no webhook of yours has this id", id=endpoint_id)
    return endpoint


def create_endpoint(session: Session, account: str, request: dict, settings: WebhookSettings) -> WebhookEndpoint:
    """A default callback of the account: every status change of its orders is POSTed there."""
    url = require_callback(request["url"], settings.allowed_networks, name="url")
    existing = session.scalars(own_endpoints(account).where(WebhookEndpoint.url == url)).first()
    if existing is not None:
        raise Conflict("you have a webhook with this url already", id=existing.id)
    count = session.scalar(sa.select(sa.func.count()).select_from(own_endpoints(account).subquery()))
    if count >= settings.endpoints_per_account:
        raise Conflict(f"an account may have at most {settings.endpoints_per_account} webhooks: delete one first")
    endpoint = WebhookEndpoint(id=new_endpoint_id(), account=account, url=url, created_at=utcnow())
    session.add(endpoint)
    session.commit()
    return endpoint


def delete_endpoint(session: Session, account: str, endpoint_id: str) -> None:
    """Deliveries already made for it are still attempted; no new ones are made."""
    session.delete(get_endpoint(session, account, endpoint_id))
    session.commit()


def order_deliveries(session: Session, account: str, order_id: str) -> sa.Select:
    """The deliveries of an order, for its consumer (the service's provider gets a 404 as anybody else)."""
    order = get_order(session, account, order_id)
    if order.account != account:
        raise NotFound("no order has this id", id=order_id)  # as for an id that does not exist
    return deliveries.order_deliveries(order.id)


def account_secret(session: Session, account: str, server_key: str) -> secrets.AccountSecret:
    return secrets.account_secret(session, account, server_key)


def rotate_secret(session: Session, account: str, server_key: str) -> secrets.AccountSecret:
    return secrets.rotate(session, account, server_key)
