"""The body of a delivery: the event's type and time, and the order as GET /1/orders/{id} renders it
for its consumer. Rendered in a request context of the application (for its links), bounded in size."""
from __future__ import annotations

import json
from datetime import datetime

from flask import g

from app.orders.models import Order
from app.orders.schemas import OrderRTSchema

# What stays of an order too large to send whole (parameters, tags, inputs and products go).
ESSENTIAL_KEYS = ("id", "name", "status", "status-message", "ordered-at", "started-at", "finished-at", "service",
                  "account", "callback", "links")
MAX_MESSAGE_CHARS = 1000


def _encode(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def render(order: Order, event_type: str, time: datetime, max_bytes: int) -> str:
    """The JSON text sent (and signed) for an order's status change; at most `max_bytes` bytes when
    encoded, by leaving out the order's lists (links.self reads it whole)."""
    g.account = order.account  # the consumer's view: its inputs, products and callback are shown
    data = OrderRTSchema().dump(order)
    body = {"type": event_type, "timestamp": time.isoformat(), "data": data}
    text = _encode(body)
    if len(text.encode()) <= max_bytes:
        return text
    data = {key: data[key] for key in ESSENTIAL_KEYS if key in data}
    if "status-message" in data:
        data["status-message"] = data["status-message"][:MAX_MESSAGE_CHARS]
    return _encode({**body, "data": data, "truncated": True})
