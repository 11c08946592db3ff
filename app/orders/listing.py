"""The fields of the order lists, for $filter, $orderby and $select."""
from __future__ import annotations

from app.orders.models import Order, OrderTag
from app.query import Field, ListSpec, StringCollection

ORDER_LIST = ListSpec(
    fields=[
        Field("id", Order.id), Field("name", Order.name), Field("status", Order.status),
        Field("service-id", Order.service_id), Field("account", Order.account),
        Field("ordered-at", Order.ordered_at), Field("started-at", Order.started_at),
        Field("finished-at", Order.finished_at),
        StringCollection("tags", OrderTag.order_id == Order.id, OrderTag.tag),
    ],
    tie_breaker="id",
    default_order=[("ordered-at", "desc")],
    selectable=("name", "status", "status-message", "ordered-at", "started-at", "finished-at", "service",
                "account", "parameters", "tags"),
)
