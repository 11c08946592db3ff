"""The floor of `make bench-api`: what the stack allows a path. The reference app
(tests/bench/reference_app.py) with the SQL the marketplace runs for the path sent on the raw driver
(psycopg, a connection per thread), and nothing else: no authentication, no checks, no ORM, no
events or webhooks of its own. The marketplace cannot beat it on the same machine; how far below
it stays is the app's own work. FLOOR_DATABASE_URL (a libpq URL) and FLOOR_SERVICE_ID (a service
ready to order) and FLOOR_ACCOUNT set it.

The statements are the ones the marketplace ran for the path on PostgreSQL when this was written
(app.conditional's tag reads; app.orders.logic's placement: tests/app/test_db_sessions.py counts
them), with the values the app would bind."""
from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import uuid
from datetime import UTC, datetime

import psycopg
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from psycopg.types.json import Jsonb

from tests.bench.reference_app import ITEM, ItemSchema, api, app

DATABASE_URL = os.environ.get("FLOOR_DATABASE_URL", "")
SERVICE_ID = os.environ.get("FLOOR_SERVICE_ID", "")
ACCOUNT = os.environ.get("FLOOR_ACCOUNT", "")  # whose order the order tag is read of
ORDERING_ACCOUNTS = 1000  # orders are placed for as many accounts as the marketplace's are (bench_api)
ACTIVE = ("scheduled", "pending", "executing")
PARAMETERS = [{"name": f"p{i}", "value": "v"} for i in range(6)]

SERVICE_TAG = "SELECT services.incarnation, services.revision FROM services WHERE services.id = %s"
ORDER_TAG = ("SELECT orders.revision FROM orders WHERE orders.id = %s "
             "AND (orders.account = %s OR orders.service_owner = %s)")
SERVICE_AND_ACTIVE_ORDERS = """SELECT services.id, services.owner, services.name, services.description,
services.provider_id, services.provider_ref, services.account_id, services.banner, services.status,
services.status_message, services.parameters, services.workflow, services."references", services.version,
services.incarnation, services.created_at, services.updated_at, services.revision,
(SELECT count(*) FROM (SELECT 1 FROM orders WHERE orders.account = %(account)s AND orders.status = ANY(%(active)s)
 LIMIT 50) AS active) FROM services WHERE services.id = %(service_id)s"""
WEBHOOK_ENDPOINTS = """SELECT webhook_endpoints.account, webhook_endpoints.url FROM webhook_endpoints
WHERE webhook_endpoints.account = ANY(%s) ORDER BY webhook_endpoints.created_at, webhook_endpoints.id"""
INSERT_ORDER = """INSERT INTO orders (id, name, account, service_id, service_owner, service_version,
service_incarnation, status, status_message, parameters, workflow, callback, idempotency_key, request_digest,
cancel_requested, ordered_at, started_at, finished_at, revision) VALUES (%(id)s, NULL, %(account)s, %(service_id)s,
%(owner)s, %(version)s, %(incarnation)s, 'pending', NULL, %(parameters)s, %(workflow)s, NULL, NULL, %(digest)s,
false, %(now)s, NULL, NULL, 1)"""
INSERT_EVENTS = """WITH inserted AS (
    INSERT INTO order_events (order_id, kind, time, data)
    SELECT e.event->>'order_id', e.event->>'kind', CAST(e.event->>'time' AS timestamptz), e.event->'data'
    FROM jsonb_array_elements(CAST(%(events)s AS jsonb)) WITH ORDINALITY AS e(event, n)
    ORDER BY e.n
    RETURNING 1)
SELECT pg_notify('order_events', %(payload)s), pg_notify('marketplace_work', '')
FROM (SELECT count(*) FROM inserted) AS done"""

_local = threading.local()
blp = Blueprint("floor", __name__)


def _connection() -> psycopg.Connection:
    if getattr(_local, "connection", None) is None:
        _local.connection = psycopg.connect(DATABASE_URL, autocommit=True)
    return _local.connection


def _not_modified(*tag: object) -> Response:
    response = Response(status=304)
    response.set_etag(hashlib.blake2b("\n".join(map(str, tag)).encode(), digest_size=12).hexdigest())
    return response


@app.get("/floor/services/<service_id>")
def service_tag(service_id: str) -> Response:
    return _not_modified(*_connection().execute(SERVICE_TAG, (service_id,)).fetchone())


@app.get("/floor/orders/<order_id>")
def order_tag(order_id: str) -> Response:
    return _not_modified(*_connection().execute(ORDER_TAG, (order_id, ACCOUNT, ACCOUNT)).fetchone())


@blp.route("/floor/orders")
class Orders(MethodView):
    @blp.arguments(ItemSchema)
    @blp.response(201, ItemSchema)
    def post(self, item):
        connection, order_id, now = _connection(), f"urn:marketplace:order:{uuid.uuid4()}", datetime.now(UTC)
        account = f"floor-{random.randrange(ORDERING_ACCOUNTS)}"
        with connection.transaction():
            service = connection.execute(SERVICE_AND_ACTIVE_ORDERS, {"account": account, "active": list(ACTIVE),
                                                                     "service_id": SERVICE_ID}).fetchone()
            connection.execute(WEBHOOK_ENDPOINTS, ([account],)).fetchall()
            connection.execute(INSERT_ORDER, {
                "id": order_id, "account": account, "service_id": SERVICE_ID, "owner": service[1],
                "version": service[13], "incarnation": service[14], "parameters": Jsonb(PARAMETERS),
                "workflow": Jsonb(service[11]), "digest": hashlib.sha256(order_id.encode()).hexdigest(), "now": now})
            events = [{"order_id": order_id, "kind": "status", "time": now.isoformat(),
                       "data": {"status": "pending", "status-message": None}}]
            connection.execute(INSERT_EVENTS, {"events": json.dumps(events),
                                               "payload": json.dumps([f"account {account}", f"order {order_id}"])})
        return {**ITEM, **item, "id": order_id}


api.register_blueprint(blp)
