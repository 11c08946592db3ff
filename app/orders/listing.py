"""The fields of the order lists, for $filter, $orderby and $select."""
from __future__ import annotations

from app.orders.models import Order, OrderTag
from app.orders.schemas import OrderRTSchema
from app.query import Field, ListSpec, StringCollection, item_fields

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
    selectable=item_fields(OrderRTSchema),
)

ORDER_LIST_EXAMPLE = {"$filter": "status eq 'succeeded' and tags/any(t: t eq 'field-12')",
                      "$orderby": "ordered-at desc", "$top": 10, "$select": "name,status"}
