"""HTTP views of webhooks: an account's default callbacks and signing secret, an order's deliveries."""
from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView
from werkzeug.routing import BaseConverter

from app import examples
from app.auth import current_account
from app.conditional import conditional_get
from app.extensions import Blueprint, db_engine, db_session
from app.webhooks import logic
from app.webhooks.listing import DELIVERY_LIST, DELIVERY_LIST_EXAMPLE, WEBHOOK_LIST, WEBHOOK_LIST_EXAMPLE
from app.webhooks.schemas import (
    DeliveryListRTSchema,
    WebhookListRTSchema,
    WebhookRequestSchema,
    WebhookRTSchema,
    WebhookSecretRTSchema,
)

# The secret is the account's alone: no cache along the way keeps it.
NO_STORE = {"Cache-Control": "no-store"}


class WebhookIdConverter(BaseConverter):
    """A webhook id in a path: any segment but `secret`, a route of its own."""

    regex = r"(?!secret$)[^/]+"
    SCHEMA = {"type": "string", "minLength": 1, "pattern": "^(?!secret$)"}


blp = Blueprint("webhooks", __name__, url_prefix="/1",
                description="Signed callbacks (Standard Webhooks) on every status change of your orders: your "
                            "account's default callbacks, its signing secret, and each order's deliveries.")


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.list_view(WEBHOOK_LIST, WebhookListRTSchema, WEBHOOK_LIST_EXAMPLE,
                   response_example=examples.WEBHOOK_LIST, operation_id="listWebhooks")
    def get(self):
        """List your account's default callbacks"""
        return logic.own_endpoints(current_account())

    @blp.arguments(WebhookRequestSchema, example=examples.WEBHOOK_REQUEST)
    @blp.response(201, WebhookRTSchema, example=examples.WEBHOOK, headers={
        "Location": {"description": "URL of the webhook", "schema": {"type": "string"}}})
    @blp.documented_errors(400, 409, 413, 415, 422)
    @blp.doc(operationId="createWebhook")
    def post(self, request):
        """Add a default callback: every status change of your orders is POSTed to it, signed"""
        endpoint = logic.create_endpoint(db_session(), current_account(), request,
                                         current_app.config["MARKETPLACE"].webhooks)
        return endpoint, 201, {"Location": url_for("webhooks.WebhookById", webhook_id=endpoint.id, _external=True)}


@blp.route("/webhooks/<webhook:webhook_id>")
class WebhookById(MethodView):
    @blp.operation("getWebhook", 200, WebhookRTSchema, 404, example=examples.WEBHOOK, conditional=True)
    def get(self, webhook_id):
        """Read one of your default callbacks"""
        session, account = db_session(), current_account()
        return conditional_get(("webhook", webhook_id, account),
                               lambda: logic.current_endpoint_etag_parts(db_engine(), account, webhook_id),
                               lambda: logic.get_endpoint(session, account, webhook_id),
                               lambda endpoint: logic.endpoint_etag_parts(endpoint.id, account))

    @blp.response(204)
    @blp.documented_errors(404)
    @blp.doc(operationId="deleteWebhook")
    def delete(self, webhook_id):
        """Remove a default callback (deliveries already made for it are still attempted)"""
        logic.delete_endpoint(db_session(), current_account(), webhook_id)


@blp.route("/webhooks/secret")
class WebhookSecret(MethodView):
    @blp.operation("getWebhookSecret", 200, WebhookSecretRTSchema, example=examples.WEBHOOK_SECRET)
    def get(self):
        """Read your account's signing secret (made on first need)"""
        config = current_app.config["MARKETPLACE"]
        return logic.account_secret(db_session(), current_account(), config.secret_key), 200, NO_STORE


@blp.route("/webhooks/secret/rotate")
class WebhookSecretRotation(MethodView):
    @blp.operation("rotateWebhookSecret", 200, WebhookSecretRTSchema, example=examples.WEBHOOK_SECRET)
    def post(self):
        """Replace your signing secret; the previous one keeps signing alongside for a day"""
        config = current_app.config["MARKETPLACE"]
        return logic.rotate_secret(db_session(), current_account(), config.secret_key), 200, NO_STORE


@blp.route("/orders/<order:order_id>/deliveries")
class OrderDeliveries(MethodView):
    @blp.list_view(DELIVERY_LIST, DeliveryListRTSchema, DELIVERY_LIST_EXAMPLE, 404,
                   response_example=examples.DELIVERY_LIST, operation_id="listOrderDeliveries")
    def get(self, order_id):
        """List the webhook deliveries of your order, each with its attempts"""
        return logic.order_deliveries(db_session(), current_account(), order_id)
