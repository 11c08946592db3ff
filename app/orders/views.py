"""HTTP views of the orders resource: parse, call the logic, render."""
from __future__ import annotations

from flask import current_app, jsonify, url_for
from flask.views import MethodView

from app.auth import current_account
from app.extensions import Blueprint, db_session, fetch_page
from app.orders import logic
from app.orders.listing import LOG_LIST, LOG_LIST_EXAMPLE, ORDER_LIST, ORDER_LIST_EXAMPLE
from app.orders.schemas import (
    IdempotencyHeaderSchema,
    OrderDryRunRTSchema,
    OrderListRTSchema,
    OrderLogsRTSchema,
    OrderQuerySchema,
    OrderRequestSchema,
    OrderRTSchema,
    OrderTasksRTSchema,
)
from app.query import list_options_parameter

blp = Blueprint("orders", __name__, url_prefix="/1/orders",
                description="Order a ready service with parameter values, and follow the order to its end.")


@blp.route("")
class Orders(MethodView):
    @blp.doc(parameters=[list_options_parameter(ORDER_LIST, ORDER_LIST_EXAMPLE)])
    @blp.response(200, OrderListRTSchema)
    @blp.documented_errors(400)
    def get(self):
        """List your orders (newest first unless $orderby says otherwise)"""
        return fetch_page(ORDER_LIST, logic.own_orders(current_account()))

    @blp.arguments(OrderQuerySchema, location="query", error_status_code=400)
    @blp.arguments(IdempotencyHeaderSchema, location="headers", error_status_code=400)
    @blp.arguments(OrderRequestSchema, example={
        "service-id": "urn:acme:service:ndvi", "name": "field 12, June",
        "parameters": [{"name": "scene", "value": "S2A_20260601"}, {"name": "threshold", "value": 0.4}],
        "tags": ["field-12"]})
    @blp.response(201, OrderRTSchema, headers={"Location": {"description": "URL of the order",
                                                            "schema": {"type": "string"}}})
    @blp.alt_response(200, schema=OrderDryRunRTSchema, success=True,
                      description="dry-run=true: what the order would run; nothing stored or submitted.")
    @blp.documented_errors(400, 409, 413, 415, 422, 429)
    def post(self, query, headers, request):
        """Order a service (or, with dry-run=true, see what it would run)"""
        if query["dry_run"]:
            result = logic.dry_run_order(db_session(), request, current_app.config["MARKETPLACE"].compile)
            return jsonify(OrderDryRunRTSchema().dump(result))
        order, created = logic.place_order(db_session(), current_account(), request,
                                           current_app.config["MARKETPLACE"].accounts, headers.get("idempotency_key"))
        response_headers = {"Location": url_for("orders.OrderById", order_id=order.id, _external=True)}
        if not created:
            response_headers["Idempotent-Replayed"] = "true"
        return order, 201, response_headers


@blp.route("/<order_id>")
class OrderById(MethodView):
    @blp.response(200, OrderRTSchema)
    @blp.documented_errors(404)
    def get(self, order_id):
        """Read an order (yours, or one placed for your service)"""
        return logic.get_order(db_session(), current_account(), order_id)


@blp.route("/<order_id>/cancel")
class OrderCancel(MethodView):
    @blp.response(202, OrderRTSchema)
    @blp.documented_errors(403, 404, 409)
    def post(self, order_id):
        """Cancel an order: a pending one ends at once, a running one within a worker pass"""
        return logic.cancel_order(db_session(), current_account(), order_id), 202


@blp.route("/<order_id>/logs")
class OrderLogs(MethodView):
    @blp.doc(parameters=[list_options_parameter(LOG_LIST, LOG_LIST_EXAMPLE)])
    @blp.response(200, OrderLogsRTSchema)
    @blp.documented_errors(400, 404)
    def get(self, order_id):
        """Read an order's log lines, optionally within a time window"""
        return fetch_page(LOG_LIST, logic.order_logs(db_session(), current_account(), order_id))


@blp.route("/<order_id>/tasks")
class OrderTasks(MethodView):
    @blp.response(200, OrderTasksRTSchema)
    @blp.documented_errors(404)
    def get(self, order_id):
        """List the steps an order ran, with their phase and times"""
        return {"tasks": logic.order_tasks(db_session(), current_account(), order_id)}
