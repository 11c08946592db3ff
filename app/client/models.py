"""The JSON the API exchanges, as TypedDicts: the client returns the API's JSON as it stands
(hyphenated keys included), typed for editors and checkers. Keys the API may omit are NotRequired."""
from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Links(TypedDict):
    self: str
    describedBy: NotRequired[dict[str, str]]
    logs: NotRequired[str]
    products: NotRequired[str]
    deliveries: NotRequired[str]
    data: NotRequired[str]
class ListLinks(TypedDict):
    self: str
    first: NotRequired[str]
    next: NotRequired[str]


class Ref(TypedDict):
    id: str
    links: NotRequired[Links]


class ParameterValue(TypedDict):
    name: str
    value: Any


ServiceDescription = TypedDict("ServiceDescription", {
    "name": NotRequired[str], "description": str, "provider-id": str, "account-id": str,
    "provider-ref": NotRequired[str], "banner": NotRequired[str], "tags": NotRequired[list[str]],
    "metadata": NotRequired[list[dict[str, str]]], "references": NotRequired[list[dict[str, str]]],
    "parameters": list[dict[str, Any]], "workflow": dict[str, Any]})

Service = TypedDict("Service", {
    "id": str, "name": NotRequired[str], "description": NotRequired[str], "status": str,
    "status-message": NotRequired[str], "account": NotRequired[Ref], "provider": NotRequired[Ref],
    "owner": NotRequired[str], "parameters": list[dict[str, Any]], "tags": NotRequired[list[str]],
    "workflow": NotRequired[dict[str, Any]], "created-at": NotRequired[str], "updated-at": NotRequired[str],
    "links": Links})


class ServiceListItem(TypedDict):
    id: str
    name: NotRequired[str]
    description: NotRequired[str]
    provider: NotRequired[Ref]
    links: Links


class ServiceList(TypedDict):
    services: list[ServiceListItem]
    links: ListLinks


OrderRequest = TypedDict("OrderRequest", {
    "service-id": str, "name": NotRequired[str], "parameters": list[ParameterValue], "tags": NotRequired[list[str]],
    "callback": NotRequired[str]})

Order = TypedDict("Order", {
    "id": str, "name": NotRequired[str], "status": str, "status-message": NotRequired[str],
    "ordered-at": str, "started-at": NotRequired[str], "finished-at": NotRequired[str],
    "service": Ref, "account": Ref, "parameters": list[ParameterValue], "tags": NotRequired[list[str]],
    "inputs": NotRequired[list[dict[str, Any]]], "products": NotRequired[list[dict[str, Any]]],
    "callback": NotRequired[str], "links": Links})


class OrderList(TypedDict):
    orders: list[Order]
    links: ListLinks


class OrderDryRun(TypedDict):
    service: Ref
    parameters: list[ParameterValue]
    manifest: dict[str, Any] | None
    valid: bool
    problems: list[dict[str, Any]]


class LogLine(TypedDict):
    time: str
    task: str
    message: str


class OrderLogs(TypedDict):
    items: list[LogLine]
    links: ListLinks


Task = TypedDict("Task", {"name": str, "phase": str, "started-at": NotRequired[str],
                          "finished-at": NotRequired[str], "message": NotRequired[str]})


class OrderTasks(TypedDict):
    tasks: list[Task]


Artifact = TypedDict("Artifact", {
    "id": str, "name": NotRequired[str], "status": str, "mime-type": str, "size": NotRequired[int],
    "sha256": NotRequired[str], "created-at": str, "links": Links})


class ArtifactList(TypedDict):
    artifacts: list[Artifact]
    links: ListLinks


class ProductList(TypedDict):
    products: list[Artifact]
    links: ListLinks


class ListOptions(TypedDict, total=False):
    """The list options every list takes (`filter` is `$filter`, `page_token` is `pageToken`, …)."""
    filter: str
    orderby: str
    select: str
    top: int
    skip: int
    limit: int
    offset: int
    page_token: str


# One event of an order's stream: its kind (`event`) and its data (status: status, status-message;
# logs: count, first-seq, last-seq, logs; task: the task's keys; product: artifact-id, name, ...).
OrderEvent = TypedDict("OrderEvent", {"event": str, "id": int, "order-id": str, "time": str})


Webhook = TypedDict("Webhook", {"id": str, "url": str, "created-at": str, "links": Links})


class WebhookList(TypedDict):
    webhooks: list[Webhook]
    links: ListLinks


WebhookSecret = TypedDict("WebhookSecret", {"secret": str, "created-at": str,
                                            "previous-valid-until": NotRequired[str]})

Attempt = TypedDict("Attempt", {"number": int, "started-at": str, "duration-ms": int, "outcome": str,
                                "status-code": NotRequired[int], "error": NotRequired[str]})

Delivery = TypedDict("Delivery", {"id": str, "type": str, "url": str, "status": str, "created-at": str,
                                  "next-attempt-at": NotRequired[str], "finished-at": NotRequired[str],
                                  "attempts": list[Attempt], "links": dict[str, str]})


class DeliveryList(TypedDict):
    deliveries: list[Delivery]
    links: ListLinks
