"""HTTP views of the orders resource: parse, call the logic, render."""
from __future__ import annotations

import json

from flask import Response, current_app, stream_with_context, url_for
from flask.views import MethodView
from werkzeug.routing import BaseConverter

from app import examples
from app.artifacts.listing import ARTIFACT_LIST, ARTIFACT_LIST_EXAMPLE
from app.artifacts.schemas import ArtifactRTSchema, ProductListRTSchema, ProductUploadQuerySchema
from app.auth import current_account, current_workload_order
from app.conditional import conditional_get
from app.extensions import Blueprint, artifact_store, db_engine, db_session
from app.orders import logic, streams
from app.orders.listing import LOG_LIST, LOG_LIST_EXAMPLE, ORDER_ITEMS, ORDER_LIST, ORDER_LIST_EXAMPLE
from app.orders.schemas import (
    IdempotencyHeaderSchema,
    LastEventIdHeaderSchema,
    NoQuerySchema,
    OrderDryRunRTSchema,
    OrderEventSchema,
    OrderEventsQuerySchema,
    OrderListRTSchema,
    OrderLogsRTSchema,
    OrderRequestSchema,
    OrderRTSchema,
    OrdersEventsQuerySchema,
    OrderTasksRTSchema,
)
from app.query.filtering import compile_filter
from app.query.options import blank
from app.request_guards import RAW_BODY, accept_raw_body, raw_body_chunks, raw_body_mime_type


class OrderIdConverter(BaseConverter):
    """An order id in a path: any segment but `dry-run` and `events`, routes of their own, so
    that /1/orders/dry-run answers POST alone (and its Allow header says so)."""

    regex = r"(?!(dry-run|events)$)[^/]+"
    SCHEMA = {"type": "string", "minLength": 1, "pattern": "^(?!(dry-run|events)$)"}


blp = Blueprint("orders", __name__, url_prefix="/1",
                description="Order a ready service with parameter values, and follow the order to its end.")


@blp.route("/orders")
class Orders(MethodView):
    @blp.list_view(ORDER_LIST, OrderListRTSchema, ORDER_LIST_EXAMPLE,
                   response_example=examples.ORDER_LIST, operation_id="listOrders", projection=ORDER_ITEMS)
    def get(self):
        """List your orders (newest first unless $orderby says otherwise)"""
        return logic.own_orders(current_account())

    @blp.arguments(NoQuerySchema, location="query", error_status_code=400)
    @blp.arguments(IdempotencyHeaderSchema, location="headers", error_status_code=400)
    @blp.arguments(OrderRequestSchema, example=examples.ORDER_REQUEST)
    @blp.response(201, OrderRTSchema, example=examples.ORDER, headers={"Location": {"description": "URL of the order",
                                                            "schema": {"type": "string"}}})
    @blp.documented_errors(400, 409, 413, 415, 422, 429)
    @blp.doc(operationId="createOrder")
    def post(self, _query, headers, request):
        """Order a service"""
        config = current_app.config["MARKETPLACE"]
        order, created = logic.place_order(db_session(), current_account(), request, config.accounts,
                                           headers.get("idempotency_key"), config.webhooks.allowed_networks)
        response_headers = {"Location": url_for("orders.OrderById", order_id=order.id, _external=True)}
        if not created:
            response_headers["Idempotent-Replayed"] = "true"
        return order, 201, response_headers


@blp.route("/orders/dry-run")
class OrderDryRun(MethodView):
    @blp.arguments(OrderRequestSchema, example=examples.ORDER_REQUEST)
    @blp.operation("dryRunOrder", 200, OrderDryRunRTSchema, 400, 413, 415, 422, example=examples.ORDER_DRY_RUN)
    def post(self, request):
        """See what an order would run, checked and compiled; nothing is stored or submitted"""
        config = current_app.config["MARKETPLACE"]
        return logic.dry_run_order(db_session(), request, config.compile, config.webhooks.allowed_networks)


@blp.route("/orders/<order:order_id>")
class OrderById(MethodView):
    @blp.operation("getOrder", 200, OrderRTSchema, 404, example=examples.ORDER, conditional=True)
    def get(self, order_id):
        """Read an order (yours, or one placed for your service)"""
        session, account = db_session(), current_account()
        return conditional_get(("order", order_id, account),
                               lambda: logic.current_order_etag_parts(db_engine(), account, order_id),
                               lambda: logic.get_order(session, account, order_id, shown=True),
                               lambda order: logic.order_etag_parts(order.id, order.revision, account))


@blp.route("/orders/<order:order_id>/cancel")
class OrderCancel(MethodView):
    @blp.operation("cancelOrder", 202, OrderRTSchema, 403, 404, 409, example={**examples.ORDER, "status": "cancelled"})
    def post(self, order_id):
        """Cancel an order: a pending one ends at once, a running one within a worker pass"""
        return logic.cancel_order(db_session(), current_account(), order_id), 202


@blp.route("/orders/<order:order_id>/logs")
class OrderLogs(MethodView):
    @blp.list_view(LOG_LIST, OrderLogsRTSchema, LOG_LIST_EXAMPLE, 404,
                   response_example=examples.ORDER_LOGS, operation_id="listOrderLogs")
    def get(self, order_id):
        """Read an order's log lines, optionally within a time window"""
        return logic.order_logs(db_session(), current_account(), order_id)


@blp.route("/orders/<order:order_id>/products")
class OrderProducts(MethodView):
    @blp.list_view(ARTIFACT_LIST, ProductListRTSchema, ARTIFACT_LIST_EXAMPLE, 404,
                   response_example=examples.PRODUCT_LIST)
    @blp.doc(operationId="listOrderProducts")
    def get(self, order_id):
        """List the files an order produced (its consumer's), with the list options of every list"""
        return logic.products_of_order(db_session(), current_account(), order_id)

    @accept_raw_body
    @blp.arguments(ProductUploadQuerySchema, location="query")
    @blp.doc(requestBody=RAW_BODY)
    @blp.response(201, ArtifactRTSchema, example=examples.ARTIFACT)
    @blp.documented_errors(400, 403, 404, 413, 422)
    @blp.doc(operationId="uploadProduct")
    def post(self, query, order_id):
        """Upload a product: for the order's own workload, with the order's token"""
        config = current_app.config["MARKETPLACE"]
        return logic.accept_product(db_session(), artifact_store(), config.compile, config.artifacts,
                                    current_workload_order(), order_id, query["name"], raw_body_mime_type(),
                                    raw_body_chunks()), 201


@blp.route("/orders/<order:order_id>/tasks")
class OrderTasks(MethodView):
    @blp.operation("listOrderTasks", 200, OrderTasksRTSchema, 404, example=examples.ORDER_TASKS)
    def get(self, order_id):
        """List the steps an order ran, with their phase and times"""
        return {"tasks": logic.order_tasks(db_session(), current_account(), order_id)}


@blp.route("/services/<service_id>/orders")
class ServiceOrders(MethodView):
    @blp.list_view(ORDER_LIST, OrderListRTSchema, ORDER_LIST_EXAMPLE, 404,
                   response_example=examples.ORDER_LIST, operation_id="listServiceOrders", projection=ORDER_ITEMS)
    def get(self, service_id):
        """List a service's orders: all of them for its provider, your own for anybody else"""
        return logic.service_orders(db_session(), current_account(), service_id)


EVENT_STREAM_EXAMPLE = ('id: 41\nevent: status\ndata: {"id": 41, "order-id": "urn:marketplace:order:0b6e", '
                        '"time": "2026-06-01T12:00:03+00:00", "status": "executing"}\n\n: keep-alive\n\n')
EVENT_STREAM_DESCRIPTION = (
    "Server-sent events: `id:` (increasing; send the last one back as Last-Event-ID to resume), `event:` the kind "
    "(`status`, `logs`, `task`, `product`), `data:` one JSON object (OrderEvent). A comment line comes every 15 s "
    "when nothing happens. A server at its bound of streams answers 503 with Retry-After.")


def _event_stream(read: streams.Reader, query: dict, headers: dict) -> Response:
    """The response that follows `read`'s events, from the client's last event id on."""
    return event_stream(read, headers.get("last_event_id", query.get("last_event_id", 0)), query["follow"])


def event_stream(read: streams.Reader, after: int, follow: bool = True) -> Response:
    """Server-sent events of `read`, after the event id `after` (the web pages' stream too)."""
    event_streams: streams.EventStreams = current_app.extensions["event_streams"]
    slot = event_streams.open()
    db_session().close()  # the stream reads with short sessions of its own: no connection held while waiting
    schema = OrderEventSchema()

    def lines():
        for event in event_streams.follow(read, after, follow):
            if event is None:
                yield ": keep-alive\n\n"
            else:
                yield f"id: {event.id}\nevent: {event.kind}\ndata: {json.dumps(schema.dump(event))}\n\n"
    response = Response(stream_with_context(lines()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(slot.release)
    return response


def _documented_stream(operation_id: str):
    def decorator(view):
        view = blp.documented_errors(400, 404)(view)
        view = blp.response(200, description=EVENT_STREAM_DESCRIPTION, content_type="text/event-stream",
                            example=EVENT_STREAM_EXAMPLE)(view)
        return blp.doc(operationId=operation_id)(view)
    return decorator


@blp.route("/orders/<order:order_id>/events")
class OrderEvents(MethodView):
    @blp.arguments(OrderEventsQuerySchema, location="query", error_status_code=400)
    @blp.arguments(LastEventIdHeaderSchema, location="headers", error_status_code=400)
    @_documented_stream("followOrderEvents")
    def get(self, query, headers, order_id):
        """Follow an order's events (server-sent events) until its final status"""
        order = logic.get_order(db_session(), current_account(), order_id)
        return _event_stream(streams.order_reader(order.id), query, headers)


@blp.route("/orders/events")
class OrdersEvents(MethodView):
    @blp.arguments(OrdersEventsQuerySchema, location="query", error_status_code=400)
    @blp.arguments(LastEventIdHeaderSchema, location="headers", error_status_code=400)
    @_documented_stream("followOrdersEvents")
    def get(self, query, headers):
        """Follow the events of your orders (server-sent events), optionally of those $filter selects"""
        account = current_account()
        orders = logic.own_orders(account)
        if not blank(query.get("filter", "")):  # as the list reads it
            orders = orders.where(compile_filter(query["filter"], ORDER_LIST.declared))
        return _event_stream(streams.orders_reader(orders, account), query, headers)
