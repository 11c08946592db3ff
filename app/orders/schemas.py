"""The orders API's JSON, in the style of the services contract (hyphenated keys, links)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.artifacts.schemas import ArtifactLinksSchema, artifact_links
from app.auth import current_account
from app.callback_urls import MAX_URL_LENGTH
from app.common_schemas import (
    SHORT,
    ComputedNested,
    DescribedBySchema,
    ReferenceToSchema,
    ResponseSchema,
    ScalarValue,
    SelfLinksSchema,
    StrictSchema,
)
from app.links import resource_links, resource_url
from app.query.filtering import MAX_LENGTH as FILTER_MAX_LENGTH
from app.query.schemas import ListPageSchema, list_item_schema
from app.status import OrderStatus


class OrderParameterValueSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=63))
    value = ScalarValue(required=True, metadata={
        "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
        "description": "Checked against the parameter's type; used in its canonical text form."})


class OrderRequestSchema(StrictSchema):
    """What a consumer sends to order a service."""

    service_id = ma.fields.String(data_key="service-id", required=True, validate=validate.Length(min=1, max=255))
    name = ma.fields.String(validate=SHORT, metadata={"description": "An optional label of the consumer's."})
    parameters = ma.fields.List(ma.fields.Nested(OrderParameterValueSchema), validate=validate.Length(max=200),
                                load_default=list)
    tags = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=128)),
                          validate=validate.Length(max=64), load_default=list)
    callback = ma.fields.String(validate=validate.Length(min=1, max=MAX_URL_LENGTH), metadata={
        "description": "POSTed the order's JSON, signed (Standard Webhooks), on each change of its status: an "
                       "http(s) URL without credentials whose host resolves to public addresses only (unless the "
                       "operator allows a network). The account's default webhooks receive them too."})

    @ma.post_load
    def _unique_tags(self, data, **_kwargs):
        data["tags"] = list(dict.fromkeys(data["tags"]))
        return data


class IdempotencyHeaderSchema(ma.Schema):
    idempotency_key = ma.fields.String(data_key="Idempotency-Key", validate=validate.Length(min=1, max=255),
                                       metadata={"description": "A retried POST with the same key answers "
                                                                "the first order instead of placing a second; "
                                                                "the same key with another request is a 422."})


class ResolvedParameterSchema(ma.Schema):
    name = ma.fields.String(required=True)
    value = ma.fields.String(required=True)


class OrderLinksSchema(ma.Schema):
    self = ma.fields.String(required=True)
    describedBy = ma.fields.Nested(DescribedBySchema, required=True)
    logs = ma.fields.String(metadata={"description": "The order's log lines."})
    products = ma.fields.String(metadata={"description": "The order's products, as a list."})
    deliveries = ma.fields.String(metadata={"description": "The order's webhook deliveries, as a list."})


class ServiceRefSchema(ma.Schema):
    id = ma.fields.String(required=True)
    links = ma.fields.Nested(OrderLinksSchema)


def _order_links(order):
    return {**resource_links("orders.OrderById", "OrderRT", order_id=order.id),
            "logs": resource_url("orders.OrderLogs", "order_id", order.id),
            "products": resource_url("orders.OrderProducts", "order_id", order.id),
            "deliveries": resource_url("webhooks.OrderDeliveries", "order_id", order.id)}


def _service_ref_of(service_id: str) -> dict:
    return {"id": service_id, "links": resource_links("services.ServiceById", "ServiceStatusRT", service_id=service_id)}


def _service_ref(order):
    return _service_ref_of(order.service_id)


class OrderInputSchema(ma.Schema):
    parameter = ma.fields.String(required=True)
    id = ma.fields.String(required=True, attribute="artifact_id")
    links = ComputedNested(SelfLinksSchema, lambda use: resource_links(
        "artifacts.ArtifactById", "ArtifactRT", artifact_id=use.artifact_id), required=True)


class ProductSchema(ResponseSchema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    mime_type = ma.fields.String(data_key="mime-type", required=True)
    size = ma.fields.Integer()
    links = ComputedNested(ArtifactLinksSchema, artifact_links, required=True)


class ConsumerOnlyList(ma.fields.List):
    """The order's data: its consumer's alone (the service's provider sees the order, not its data)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return super().get_value(obj, attr, accessor, default) if obj.account == current_account() else []


class ConsumerOnlyString(ma.fields.String):
    """A value of the consumer's (the service's provider does not see it)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return super().get_value(obj, attr, accessor, default) if obj.account == current_account() else None


class OrderRTSchema(ResponseSchema):
    """An order as the API shows it."""

    id = ma.fields.String(required=True)
    name = ma.fields.String()
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in OrderStatus]))
    status_message = ma.fields.String(data_key="status-message", metadata={"description": "Why it failed, if it did."})
    ordered_at = ma.fields.AwareDateTime(data_key="ordered-at", required=True)
    started_at = ma.fields.AwareDateTime(data_key="started-at")
    finished_at = ma.fields.AwareDateTime(data_key="finished-at")
    service = ComputedNested(ServiceRefSchema, _service_ref, required=True)
    account = ComputedNested(ReferenceToSchema, lambda order: {"id": order.account}, required=True)
    parameters = ma.fields.List(ma.fields.Nested(ResolvedParameterSchema), required=True, metadata={
        "description": "Every parameter with the value actually used (defaults filled in)."})
    tags = ma.fields.List(ma.fields.String())
    inputs = ConsumerOnlyList(ma.fields.Nested(OrderInputSchema), metadata={
        "description": "The artifacts the order reads, by parameter."})
    products = ConsumerOnlyList(ma.fields.Nested(ProductSchema), metadata={
        "description": "The files the order produced, kept as artifacts (also when it failed); "
                       "links.products lists them page by page."})
    callback = ConsumerOnlyString(metadata={"description": "Where its status changes are POSTed (its consumer's)."})
    links = ComputedNested(OrderLinksSchema, _order_links, required=True)


OrderListItemSchema = list_item_schema(OrderRTSchema, "OrderListItemSchema")


class OrderListRTSchema(ListPageSchema):
    ITEMS = "orders"

    orders = ma.fields.List(ma.fields.Nested(OrderListItemSchema), required=True, attribute="items")


class LogLineSchema(ma.Schema):
    time = ma.fields.AwareDateTime(required=True)
    task = ma.fields.String(required=True, metadata={"description": "The step that wrote it."})
    message = ma.fields.String(required=True)


class OrderLogsRTSchema(ListPageSchema):
    items = ma.fields.List(ma.fields.Nested(LogLineSchema), required=True)


class NoQuerySchema(StrictSchema):
    """No query options: a client still sending `dry-run=true` (now POST /1/orders/dry-run) hears a 400
    instead of placing a real order."""


class ProblemSchema(ma.Schema):
    name = ma.fields.String(required=True, attribute="path", metadata={"description": "Dotted path of the field."})
    message = ma.fields.String(required=True)
    value = ma.fields.Raw(allow_none=True)


class OrderDryRunRTSchema(ma.Schema):
    """What an order would run."""

    service = ComputedNested(ServiceRefSchema, lambda result: _service_ref_of(result["service"].id), required=True)
    parameters = ma.fields.List(ma.fields.Nested(ResolvedParameterSchema), required=True)
    manifest = ma.fields.Dict(allow_none=True, metadata={"description": "The Kubernetes Job or Argo Workflow."})
    valid = ma.fields.Function(lambda result: not result["problems"], metadata={"type": "boolean"})
    problems = ma.fields.List(ma.fields.Nested(ProblemSchema), required=True)


class TaskSchema(ResponseSchema):
    name = ma.fields.String(required=True)
    phase = ma.fields.String(required=True, metadata={
        "description": "The step's status in the order's terms (`scheduled`, `executing`, `succeeded`, `failed`, "
                       "`error`, `cancelled`), or `skipped` for an Argo node that did not run."})
    started_at = ma.fields.AwareDateTime(data_key="started-at")
    finished_at = ma.fields.AwareDateTime(data_key="finished-at")
    message = ma.fields.String()


class OrderTasksRTSchema(ma.Schema):
    tasks = ma.fields.List(ma.fields.Nested(TaskSchema), required=True)


EVENT_ID = ma.fields.Integer(strict=False, validate=validate.Range(min=0, max=2**63 - 1))
EVENT_ID_DESCRIPTION = ("Replay the events after this one (the `id:` of the last event received); 0 or none: "
                        "from the first.")


class LastEventIdHeaderSchema(ma.Schema):
    last_event_id = ma.fields.Integer(data_key="Last-Event-ID", validate=validate.Range(min=0, max=2**63 - 1),
                                      metadata={"description": EVENT_ID_DESCRIPTION + " Wins over the query's "
                                                "last-event-id: an EventSource sends it when it reconnects."})


class OrderEventsQuerySchema(StrictSchema):
    last_event_id = ma.fields.Integer(data_key="last-event-id", validate=validate.Range(min=0, max=2**63 - 1),
                                      metadata={"description": EVENT_ID_DESCRIPTION + " For clients that cannot "
                                                "set the Last-Event-ID header."})
    follow = ma.fields.Boolean(load_default=True, metadata={
        "description": "false: replay the events there are and end, instead of following new ones."})


class OrdersEventsQuerySchema(OrderEventsQuerySchema):
    filter = ma.fields.String(data_key="$filter", validate=validate.Length(max=FILTER_MAX_LENGTH), metadata={
        "description": "An OData filter over the fields of GET /1/orders (status, service-id, name, tags, times, "
                       "...), applied to each order as it is when its events are read."})


class OrderEventSchema(ResponseSchema):
    """The `data:` of an event: these keys, and those of its kind (status: status, status-message;
    logs: count, first-seq, last-seq, logs; task: the task's keys; product: artifact-id, name, size,
    mime-type)."""

    id = ma.fields.Integer(required=True)
    order_id = ma.fields.String(data_key="order-id", required=True)
    time = ma.fields.AwareDateTime(required=True)
    data = ma.fields.Dict()

    @ma.post_dump(pass_original=True)
    def _flatten(self, dumped, event, **_kwargs):
        details = dumped.pop("data", {}) or {}
        if event.kind == "logs":
            details = {**details, "logs": resource_url("orders.OrderLogs", "order_id", event.order_id)}
        return {**dumped, **details}
