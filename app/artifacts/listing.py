"""The fields of the artifact lists (uploads and an order's products), for $filter, $orderby and $select."""
from __future__ import annotations

from app.artifacts.models import Artifact
from app.artifacts.schemas import ArtifactRTSchema
from app.query import Field, ListSpec, item_fields

ARTIFACT_LIST = ListSpec(
    fields=[
        Field("id", Artifact.id), Field("name", Artifact.name), Field("mime-type", Artifact.mime_type),
        Field("size", Artifact.size), Field("created-at", Artifact.created_at), Field("status", Artifact.status),
        Field("order-id", Artifact.order_id),
    ],
    tie_breaker="id",
    default_order=[("created-at", "desc")],
    selectable=item_fields(ArtifactRTSchema),
)

ARTIFACT_LIST_EXAMPLE = {"$filter": "mime-type eq 'text/csv' and size lt 1000000", "$orderby": "name",
                         "$top": 10, "$select": "name,size"}
