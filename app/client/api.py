"""A thin, typed client of the marketplace API over httpx: one method per operation of the
OpenAPI document, named after its operationId in snake_case (`listServices` -> list_services).
Answers are the API's JSON as it stands (typed as app.client.models); anything but a success
raises ApiError. Artifact content is streamed both ways from and to file objects."""
from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, TypeVar, Unpack, cast

import httpx
import httpx_sse

from app.client.errors import ApiError
from app.client.models import (
    Artifact,
    ArtifactList,
    DeliveryList,
    ListOptions,
    Order,
    OrderDryRun,
    OrderEvent,
    OrderList,
    OrderLogs,
    OrderRequest,
    OrderTasks,
    ProductList,
    Service,
    ServiceDescription,
    ServiceList,
    Webhook,
    WebhookList,
    WebhookSecret,
)

CHUNK_BYTES = 1024 * 1024
STREAM_READ_SECONDS = 60
TUS_VERSION = "1.0.0"
F = TypeVar("F", bound=Callable[..., Any])
LIST_OPTION_NAMES = {"filter": "$filter", "orderby": "$orderby", "select": "$select", "top": "$top",
                     "skip": "$skip", "limit": "limit", "offset": "offset", "page_token": "pageToken"}


def operation(operation_id: str) -> Callable[[F], F]:
    """Mark a method as the client of one operation of the OpenAPI document (tests check both ways)."""
    def mark(method: F) -> F:
        method.operation_id = operation_id  # type: ignore[attr-defined]
        return method
    return mark


def _list_params(options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(options) - set(LIST_OPTION_NAMES)
    if unknown:
        raise TypeError(f"unknown list options: {', '.join(sorted(unknown))}")
    return {LIST_OPTION_NAMES[key]: value for key, value in options.items() if value is not None}


def _chunks(file: IO[bytes], chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    while chunk := file.read(chunk_bytes):
        yield chunk


def _remaining_size(file: IO[bytes]) -> int | None:
    """Bytes from the file's position to its end, when it can tell (a pipe cannot)."""
    try:
        return os.fstat(file.fileno()).st_size - file.tell()
    except (AttributeError, OSError, ValueError):
        return None


class MarketplaceClient:
    """`MarketplaceClient("http://127.0.0.1:8080", token)`; use it as a context manager, or close() it."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None):
        headers = {"User-Agent": "marketplace-client", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # httpx drops Authorization on a redirect to another origin: the object store's
        # presigned download URL never sees the token.
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                  transport=transport, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MarketplaceClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        _raise_for_status(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    def pages(self, page: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """This page of a list and every next one (links.next), fetched as they are reached."""
        while True:
            yield page
            next_url = page.get("links", {}).get("next")
            if not next_url:
                return
            page = self._json("GET", next_url)

    # --- services ----------------------------------------------------------------------------

    @operation("listServices")
    def list_services(self, **options: Unpack[ListOptions]) -> ServiceList:
        return self._json("GET", "/1/services", params=_list_params(options))

    @operation("createService")
    def create_service(self, description: ServiceDescription | Mapping[str, Any]) -> Service:
        return self._json("POST", "/1/services", json=description)

    @operation("getService")
    def get_service(self, service_id: str) -> Service:
        return self._json("GET", f"/1/services/{_segment(service_id)}")

    @operation("updateService")
    def update_service(self, service_id: str, description: ServiceDescription | Mapping[str, Any], *,
                       force_create: bool = False) -> Service:
        """Replace a service; with force_create, create it under this id when there is none (an upsert)."""
        params = {"force-create": "true"} if force_create else {}
        return self._json("PUT", f"/1/services/{_segment(service_id)}", json=description, params=params)

    @operation("deleteService")
    def delete_service(self, service_id: str) -> None:
        self._send("DELETE", f"/1/services/{_segment(service_id)}")

    @operation("listServiceOrders")
    def list_service_orders(self, service_id: str, **options: Unpack[ListOptions]) -> OrderList:
        return self._json("GET", f"/1/services/{_segment(service_id)}/orders", params=_list_params(options))

    # --- orders ------------------------------------------------------------------------------

    @operation("listOrders")
    def list_orders(self, **options: Unpack[ListOptions]) -> OrderList:
        return self._json("GET", "/1/orders", params=_list_params(options))

    @operation("createOrder")
    def create_order(self, request: OrderRequest | Mapping[str, Any], *, idempotency_key: str | None = None) -> Order:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._json("POST", "/1/orders", json=request, headers=headers)

    @operation("dryRunOrder")
    def dry_run_order(self, request: OrderRequest | Mapping[str, Any]) -> OrderDryRun:
        return self._json("POST", "/1/orders/dry-run", json=request)

    @operation("getOrder")
    def get_order(self, order_id: str) -> Order:
        return self._json("GET", f"/1/orders/{_segment(order_id)}")

    @operation("cancelOrder")
    def cancel_order(self, order_id: str) -> Order:
        return self._json("POST", f"/1/orders/{_segment(order_id)}/cancel")

    @operation("listOrderLogs")
    def list_order_logs(self, order_id: str, *, since: str | None = None, until: str | None = None,
                        limit: int | None = None, offset: int | None = None) -> OrderLogs:
        params = {key: value for key, value in (("since", since), ("until", until), ("limit", limit),
                                                ("offset", offset)) if value is not None}
        return self._json("GET", f"/1/orders/{_segment(order_id)}/logs", params=params)

    @operation("followOrderEvents")
    def follow_order_events(self, order_id: str, *, last_event_id: int | None = None,
                            follow: bool = True) -> Iterator[OrderEvent]:
        """The order's events after `last_event_id`, as they happen, until its final status
        (follow=False: those there are, then stop). Each is its `data:` with `event`, its kind."""
        return self._events(f"/1/orders/{_segment(order_id)}/events", {"follow": follow}, last_event_id)

    @operation("followOrdersEvents")
    def follow_orders_events(self, *, filter: str | None = None, last_event_id: int | None = None,
                             follow: bool = True) -> Iterator[OrderEvent]:
        """The events of your orders (those `filter` selects), as they happen; it does not end
        by itself while follow is True."""
        params: dict[str, Any] = {"follow": follow, **({"$filter": filter} if filter else {})}
        return self._events("/1/orders/events", params, last_event_id)

    def _events(self, path: str, params: dict[str, Any], last_event_id: int | None) -> Iterator[OrderEvent]:
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        params = {key: str(value).lower() if isinstance(value, bool) else value for key, value in params.items()}
        # The server sends a comment every 15 s: a read may wait that long and more.
        with httpx_sse.connect_sse(self._http, "GET", path, params=params, headers=headers,
                                   timeout=httpx.Timeout(10, read=STREAM_READ_SECONDS)) as source:
            if source.response.is_error:
                source.response.read()
                _raise_for_status(source.response)
            for message in source.iter_sse():
                yield cast(OrderEvent, {"event": message.event, **json.loads(message.data)})

    @operation("listOrderTasks")
    def list_order_tasks(self, order_id: str) -> OrderTasks:
        return self._json("GET", f"/1/orders/{_segment(order_id)}/tasks")

    @operation("listOrderProducts")
    def list_order_products(self, order_id: str, **options: Unpack[ListOptions]) -> ProductList:
        return self._json("GET", f"/1/orders/{_segment(order_id)}/products", params=_list_params(options))

    @operation("uploadProduct")
    def upload_product(self, order_id: str, name: str, file: IO[bytes],
                       mime_type: str = "application/octet-stream") -> Artifact:
        """For an order's own workload, with the order's token: a file it produced."""
        return self._json("POST", f"/1/orders/{_segment(order_id)}/products", params={"name": name},
                          **_streamed_body(file, mime_type))

    @operation("listOrderDeliveries")
    def list_order_deliveries(self, order_id: str, **options: Unpack[ListOptions]) -> DeliveryList:
        """The webhook deliveries of your order, each with its attempts."""
        return self._json("GET", f"/1/orders/{_segment(order_id)}/deliveries", params=_list_params(options))

    # --- webhooks ----------------------------------------------------------------------------

    @operation("listWebhooks")
    def list_webhooks(self, **options: Unpack[ListOptions]) -> WebhookList:
        return self._json("GET", "/1/webhooks", params=_list_params(options))

    @operation("createWebhook")
    def create_webhook(self, url: str) -> Webhook:
        return self._json("POST", "/1/webhooks", json={"url": url})

    @operation("getWebhook")
    def get_webhook(self, webhook_id: str) -> Webhook:
        return self._json("GET", f"/1/webhooks/{_segment(webhook_id)}")

    @operation("deleteWebhook")
    def delete_webhook(self, webhook_id: str) -> None:
        self._send("DELETE", f"/1/webhooks/{_segment(webhook_id)}")

    @operation("getWebhookSecret")
    def get_webhook_secret(self) -> WebhookSecret:
        return self._json("GET", "/1/webhooks/secret")

    @operation("rotateWebhookSecret")
    def rotate_webhook_secret(self) -> WebhookSecret:
        return self._json("POST", "/1/webhooks/secret/rotate")

    # --- artifacts ---------------------------------------------------------------------------

    @operation("listArtifacts")
    def list_artifacts(self, **options: Unpack[ListOptions]) -> ArtifactList:
        return self._json("GET", "/1/artifacts", params=_list_params(options))

    @operation("uploadArtifact")
    def upload_artifact(self, file: IO[bytes], *, name: str | None = None,
                        mime_type: str = "application/octet-stream") -> Artifact:
        """Stream a file (opened "rb") from its position to its end; only a chunk at a time is in memory."""
        headers = {"X-Name": name} if name else {}
        body = _streamed_body(file, mime_type)
        return self._json("POST", "/1/artifacts", **{**body, "headers": {**body["headers"], **headers}})

    @operation("getArtifact")
    def get_artifact(self, artifact_id: str) -> Artifact:
        return self._json("GET", f"/1/artifacts/{_segment(artifact_id)}")

    @operation("deleteArtifact")
    def delete_artifact(self, artifact_id: str) -> None:
        self._send("DELETE", f"/1/artifacts/{_segment(artifact_id)}")

    @operation("downloadArtifact")
    def download_artifact(self, artifact_id: str, file: IO[bytes]) -> int:
        """Write the content into a file opened "wb", a chunk at a time; answers the bytes written.
        A redirect to the object store is followed, without the token."""
        written = 0
        with self._http.stream("GET", f"/1/artifacts/{_segment(artifact_id)}/blob",
                               headers={"Accept": "*/*"}) as response:
            if response.is_error:
                response.read()
                _raise_for_status(response)
            for chunk in response.iter_bytes(CHUNK_BYTES):
                file.write(chunk)
                written += len(chunk)
        return written

    # --- resumable uploads (tus 1.0.0) ----------------------------------------------------------

    @operation("getUploadOptions")
    def get_upload_options(self) -> dict[str, str]:
        """The Tus-Version, Tus-Extension and Tus-Max-Size the server tells."""
        response = self._send("OPTIONS", "/1/artifacts/uploads")
        return {key: response.headers[key] for key in ("Tus-Version", "Tus-Extension", "Tus-Max-Size")
                if key in response.headers}

    @operation("beginUpload")
    def begin_upload(self, length: int, *, name: str | None = None, mime_type: str | None = None) -> Artifact:
        """An artifact awaiting `length` bytes (status "uploading"); append_to_upload fills it."""
        metadata = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                            for key, value in (("filename", name), ("filetype", mime_type)) if value)
        headers = {"Tus-Resumable": TUS_VERSION, "Upload-Length": str(length)}
        if metadata:
            headers["Upload-Metadata"] = metadata
        return self._json("POST", "/1/artifacts/uploads", headers=headers)

    @operation("getUploadOffset")
    def get_upload_offset(self, artifact_id: str) -> int:
        response = self._send("HEAD", f"/1/artifacts/uploads/{_segment(artifact_id)}",
                              headers={"Tus-Resumable": TUS_VERSION})
        return int(response.headers["Upload-Offset"])

    @operation("appendToUpload")
    def append_to_upload(self, artifact_id: str, offset: int, piece: bytes) -> int:
        """Add a piece at `offset` (what get_upload_offset told); answers the new offset."""
        response = self._send("PATCH", f"/1/artifacts/uploads/{_segment(artifact_id)}", content=piece,
                              headers={"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(offset),
                                       "Content-Type": "application/offset+octet-stream"})
        return int(response.headers["Upload-Offset"])

    @operation("abandonUpload")
    def abandon_upload(self, artifact_id: str) -> None:
        self._send("DELETE", f"/1/artifacts/uploads/{_segment(artifact_id)}", headers={"Tus-Resumable": TUS_VERSION})


def _segment(value: str) -> str:
    """An id as one path segment: ids hold colons (kept) but never a slash, ? or #."""
    return httpx.URL(path=value).raw_path.decode().replace("/", "%2F").replace("?", "%3F").replace("#", "%23")


def _streamed_body(file: IO[bytes], mime_type: str) -> dict[str, Any]:
    headers = {"Content-Type": mime_type}
    size = _remaining_size(file)
    if size is not None:  # a known length: no chunked encoding, and the server checks the size at once
        headers["Content-Length"] = str(size)
    return {"content": _chunks(file), "headers": headers}


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    raise ApiError(response.status_code, cast(dict, body) if isinstance(body, dict) else None,
                   response.request.method, str(response.request.url))
