"""The artifacts API's JSON: hyphenated keys and links, like the rest of the contract."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.artifacts.models import NAME_LENGTH
from app.common_schemas import ComputedNested, DescribedBySchema, ResponseSchema
from app.links import resource_links, resource_url
from app.query.schemas import ListPageSchema, list_item_schema
from app.status import ArtifactStatus


class ArtifactLinksSchema(ma.Schema):
    self = ma.fields.String(required=True)
    describedBy = ma.fields.Nested(DescribedBySchema, required=True)
    data = ma.fields.String(required=True, metadata={"description": "Download the content (Range requests "
                                                                    "welcome; may redirect to the object store)."})
    order = ma.fields.String(metadata={"description": "The order that produced it, for a product."})


def artifact_links(artifact) -> dict:
    links = {**resource_links("artifacts.ArtifactById", "ArtifactRT", artifact_id=artifact.id),
             "data": resource_url("artifacts.ArtifactBlob", "artifact_id", artifact.id)}
    if artifact.order_id:
        links["order"] = resource_url("orders.OrderById", "order_id", artifact.order_id)
    return links


class ArtifactRTSchema(ResponseSchema):
    """An artifact: uploaded content, or a product an order left."""

    id = ma.fields.String(required=True, metadata={"description": "urn:marketplace:artifact:<uuid>"})
    name = ma.fields.String()
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in ArtifactStatus]))
    mime_type = ma.fields.String(data_key="mime-type", required=True)
    size = ma.fields.Integer(metadata={"description": "Bytes."})
    sha256 = ma.fields.String(metadata={"description": "Hex SHA-256 of the content; also its ETag."})
    order_id = ma.fields.String(data_key="order-id", metadata={"description": "The order that produced it."})
    created_at = ma.fields.AwareDateTime(data_key="created-at", required=True)
    expires_at = ma.fields.AwareDateTime(data_key="expires-at", metadata={
        "description": "When a product's content is removed (the retention period)."})
    links = ComputedNested(ArtifactLinksSchema, artifact_links, required=True)


ArtifactListItemSchema = list_item_schema(ArtifactRTSchema, "ArtifactListItemSchema")


class ArtifactListRTSchema(ListPageSchema):
    ITEMS = "artifacts"

    artifacts = ma.fields.List(ma.fields.Nested(ArtifactListItemSchema), required=True, attribute="items")


class ProductListRTSchema(ListPageSchema):
    ITEMS = "products"

    products = ma.fields.List(ma.fields.Nested(ArtifactListItemSchema), required=True, attribute="items")


# A name is printable: it ends up in a Content-Disposition header and in file names.
NAME = [validate.Length(min=1, max=NAME_LENGTH), validate.Regexp(r"^[^\x00-\x1f\x7f]+$")]


class UploadQuerySchema(ma.Schema):
    name = ma.fields.String(validate=NAME, metadata={"description": "The artifact's name (or the X-Name header)."})


class UploadHeaderSchema(ma.Schema):
    x_name = ma.fields.String(data_key="X-Name", validate=NAME, metadata={"description": "The artifact's name."})


class ProductUploadQuerySchema(ma.Schema):
    name = ma.fields.String(required=True, validate=NAME, metadata={
        "description": "The file's path in the outputs folder: relative, without '.' or '..' parts."})
