"""The fields of the order lists, for $filter, $orderby and $select; and an order's logs, a list too."""
from __future__ import annotations

from app.artifacts.models import Artifact, ArtifactUse
from app.orders.models import Order, OrderLogLine, OrderTag
from app.orders.schemas import OrderRTSchema
from app.query import Bound, Field, ListSpec, StringCollection, item_fields
from app.query.projection import Collection, Projection, Tag

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

# An order list's items in one statement: the columns the item schema shows or computes from, and
# the collections it shows, in their relationships' order (app.orders.models).
ORDER_ITEMS = Projection.of_schema(
    Order, OrderRTSchema,
    Collection("tags", OrderTag.order_id == Order.id, (OrderTag.position,), value=OrderTag.tag),
    Collection("inputs", ArtifactUse.order_id == Order.id, (ArtifactUse.parameter,),
               members=(ArtifactUse.parameter, ArtifactUse.artifact_id)),
    Collection("products", Artifact.order_id == Order.id, (Artifact.name,),
               members=(Artifact.id, Artifact.name, Artifact.status, Artifact.mime_type, Artifact.size,
                        Artifact.order_id)),
    computed_from=("service_id", "account"),
    # As its ETag (app.orders.logic.order_etag_parts): its consumer sees its data, others do not.
    tag=Tag("order", (Order.id, Order.revision), per_caller=True))

ORDER_LIST_EXAMPLE = {"$filter": "status eq 'succeeded' and tags/any(t: t eq 'field-12')",
                      "$orderby": "ordered-at desc", "$top": 10, "$select": "name,status"}

# An order's log lines in the order they were written, a window of time and a page at a time.
LOG_LIST = ListSpec(
    fields=[Field("seq", OrderLogLine.seq), Field("time", OrderLogLine.time)],
    tie_breaker="seq",
    default_order=[("seq", "asc")],
    options=("limit", "offset"),
    default_limit=1000,
    max_limit=10000,
    bounds=(Bound("since", "time", ">=", "Only lines written at or after this time."),
            Bound("until", "time", "<", "Only lines written before this time.")),
)

LOG_LIST_EXAMPLE = {"since": "2026-06-01T12:00:00Z", "limit": 100}
