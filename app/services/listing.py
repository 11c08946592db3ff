"""The fields of the services list, for $filter, $orderby and $select."""
from __future__ import annotations

from app.query import Field, ListSpec, PairCollection, StringCollection, item_fields
from app.query.projection import Projection, Tag
from app.services.models import Service, ServiceMetadata, ServiceTag
from app.services.schemas import ServiceListItemSchema

SERVICE_LIST = ListSpec(
    fields=[
        Field("id", Service.id), Field("name", Service.name), Field("description", Service.description),
        Field("provider-id", Service.provider_id), Field("provider-ref", Service.provider_ref),
        Field("account-id", Service.account_id), Field("owner", Service.owner), Field("status", Service.status),
        Field("created-at", Service.created_at), Field("updated-at", Service.updated_at),
        StringCollection("tags", ServiceTag.service_id == Service.id, ServiceTag.tag),
        PairCollection("metadata", ServiceMetadata.service_id == Service.id,
                       {"name": ServiceMetadata.name, "value": ServiceMetadata.value}),
    ],
    tie_breaker="id",
    default_order=[("name", "asc")],
    selectable=item_fields(ServiceListItemSchema),
)

# A list item's columns, read as plain rows (no JSON documents, no tags or metadata).
SERVICE_ITEMS = Projection.of_schema(
    Service, ServiceListItemSchema, computed_from=("provider_id",),
    # As its ETag (app.services.logic.service_etag_parts): the same for every caller.
    tag=Tag("service", (Service.id, Service.incarnation, Service.revision)))
