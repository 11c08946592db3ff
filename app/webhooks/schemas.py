"""The webhooks API's JSON, in the style of the services contract (hyphenated keys, links)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.callback_urls import MAX_URL_LENGTH
from app.common_schemas import ComputedNested, ResponseSchema, SelfLinksSchema, StrictSchema
from app.links import resource_links, resource_url
from app.query.schemas import ListPageSchema, list_item_schema
from app.status import AttemptOutcome, DeliveryStatus

URL_DESCRIPTION = ("An http(s) URL without credentials, at most 2048 characters, whose host resolves to public "
                   "addresses only (unless the operator allows a network: MARKETPLACE_WEBHOOK_ALLOWED_NETWORKS).")


class WebhookRequestSchema(StrictSchema):
    """A default callback of your account: it receives the status changes of all your orders."""

    url = ma.fields.String(required=True, validate=validate.Length(min=1, max=MAX_URL_LENGTH),
                           metadata={"description": URL_DESCRIPTION})


class WebhookRTSchema(ResponseSchema):
    """A default callback of your account."""

    id = ma.fields.String(required=True)
    url = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(data_key="created-at", required=True)
    links = ComputedNested(SelfLinksSchema, lambda endpoint: resource_links(
        "webhooks.WebhookById", "WebhookRT", webhook_id=endpoint.id), required=True)


WebhookListItemSchema = list_item_schema(WebhookRTSchema, "WebhookListItemSchema")


class WebhookListRTSchema(ListPageSchema):
    ITEMS = "webhooks"

    webhooks = ma.fields.List(ma.fields.Nested(WebhookListItemSchema), required=True, attribute="items")


class WebhookSecretRTSchema(ResponseSchema):
    """Your account's signing secret (Standard Webhooks, `whsec_` and base64): give it to your receiver to
    check the webhook-signature header, e.g. with `standardwebhooks.Webhook(secret).verify(body, headers)`."""

    secret = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(data_key="created-at", required=True)
    previous_until = ma.fields.AwareDateTime(data_key="previous-valid-until", metadata={
        "description": "After a rotation, deliveries carry a second signature, made with the previous "
                       "secret, until this time."})


class AttemptSchema(ResponseSchema):
    number = ma.fields.Integer(required=True)
    started_at = ma.fields.AwareDateTime(data_key="started-at", required=True)
    duration_ms = ma.fields.Integer(data_key="duration-ms", required=True)
    outcome = ma.fields.String(required=True, validate=validate.OneOf([o.value for o in AttemptOutcome]),
                               metadata={"description": "succeeded (2xx), failed (another answer or none), "
                                                        "refused (the address may not be called)."})
    status_code = ma.fields.Integer(data_key="status-code", metadata={"description": "The receiver's answer."})
    error = ma.fields.String(metadata={"description": "Why there was no answer, or why it was refused."})


def _delivery_links(delivery):
    return {"order": resource_url("orders.OrderById", "order_id", delivery.order_id)}


class DeliveryLinksSchema(ma.Schema):
    order = ma.fields.String(required=True)


class DeliveryRTSchema(ResponseSchema):
    """One status change of an order, delivered to one callback: its id is the webhook-id header of
    every attempt."""

    id = ma.fields.String(required=True)
    type = ma.fields.String(required=True, attribute="event_type", metadata={
        "description": "order.<status>: the status the order changed to."})
    url = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in DeliveryStatus]))
    created_at = ma.fields.AwareDateTime(data_key="created-at", required=True)
    next_attempt_at = ma.fields.AwareDateTime(data_key="next-attempt-at")
    finished_at = ma.fields.AwareDateTime(data_key="finished-at")
    attempts = ma.fields.List(ma.fields.Nested(AttemptSchema), required=True)
    links = ComputedNested(DeliveryLinksSchema, _delivery_links, required=True)


DeliveryListItemSchema = list_item_schema(DeliveryRTSchema, "DeliveryListItemSchema")


class DeliveryListRTSchema(ListPageSchema):
    ITEMS = "deliveries"

    deliveries = ma.fields.List(ma.fields.Nested(DeliveryListItemSchema), required=True, attribute="items")
