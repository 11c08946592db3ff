"""The fields of the webhook lists (an account's callbacks, an order's deliveries) for the list options."""
from __future__ import annotations

from app.query import Field, ListSpec, item_fields
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.schemas import DeliveryRTSchema, WebhookRTSchema

WEBHOOK_LIST = ListSpec(
    fields=[Field("id", WebhookEndpoint.id), Field("url", WebhookEndpoint.url),
            Field("created-at", WebhookEndpoint.created_at)],
    tie_breaker="id",
    default_order=[("created-at", "asc")],
    selectable=item_fields(WebhookRTSchema),
)

WEBHOOK_LIST_EXAMPLE = {"$orderby": "created-at desc", "$top": 10}

DELIVERY_LIST = ListSpec(
    fields=[Field("id", WebhookDelivery.id), Field("type", WebhookDelivery.event_type),
            Field("url", WebhookDelivery.url), Field("status", WebhookDelivery.status),
            Field("created-at", WebhookDelivery.created_at), Field("finished-at", WebhookDelivery.finished_at)],
    tie_breaker="id",
    default_order=[("created-at", "asc")],
    selectable=item_fields(DeliveryRTSchema),
)

DELIVERY_LIST_EXAMPLE = {"$filter": "status eq 'failed'", "$orderby": "created-at desc", "$top": 10}
