"""The OpenAPI document's examples, in one place: requests the API accepts as they stand (the
tests send them to a running app) and responses as the API renders them (the tests check them
against the response schemas). They tell one story: the NDVI service, an order of it, a table."""
from __future__ import annotations

BASE = "https://marketplace.example.org"
SERVICE_ID = "urn:acme:service:ndvi"
ORDER_ID = "urn:marketplace:order:4f147700-2e7e-408f-9f3f-ce0c3a64df36"
ARTIFACT_ID = "urn:marketplace:artifact:764a40f1-93c9-477e-92b9-f113e5a97d8d"
WHEN = "2026-06-01T12:00:00+00:00"


def _links(path: str, schema: str, **more: str) -> dict:
    return {"self": f"{BASE}{path}", **more,
            "describedBy": {"href": f"{BASE}/openapi.json#/components/schemas/{schema}",
                            "type": "application/vnd.oai.openapi+json;version=3.0"}}


def _list_links(path: str) -> dict:
    return {"first": f"{BASE}{path}", "self": f"{BASE}{path}"}


# --- requests ---------------------------------------------------------------------------------

SERVICE_DESCRIPTION = {
    "name": "NDVI", "description": "Vegetation index from Sentinel-2 scenes",
    "provider-id": "urn:acme:provider:geo", "account-id": "urn:acme:account:geo", "tags": ["ag", "ndvi"],
    # Both optional: schemathesis sends this example to the service its generated orders are for.
    "parameters": [{"name": "scene", "type": "string", "optional": True},
                   {"name": "threshold", "type": "float", "default": "0.3", "optional": True}],
    "workflow": {"type": "basic", "basic": {"image": "ghcr.io/acme/ndvi:1.2", "command": ["python", "-m", "ndvi"]}}}

ORDER_REQUEST = {
    "service-id": SERVICE_ID, "name": "field 12, June",
    "parameters": [{"name": "scene", "value": "S2A_20260601"}, {"name": "threshold", "value": 0.4}],
    "tags": ["field-12"]}

# A public address written as such: an example must pass the callback checks without a resolver.
WEBHOOK_URL = "https://93.184.215.14/marketplace/hooks"

WEBHOOK_REQUEST = {"url": WEBHOOK_URL}

# --- responses --------------------------------------------------------------------------------

_SERVICE_LINKS = _links(f"/1/services/{SERVICE_ID}", "ServiceStatusRT")

SERVICE = {
    "id": SERVICE_ID, "name": "NDVI", "description": "Vegetation index from Sentinel-2 scenes", "status": "ready",
    "account": {"id": "urn:acme:account:geo"}, "provider": {"id": "urn:acme:provider:geo"}, "owner": "alice",
    "metadata": [], "references": [], "tags": ["ag", "ndvi"],
    "parameters": [{"name": "scene", "type": "string", "optional": True, "constant": False},
                   {"name": "threshold", "type": "float", "default": "0.3", "optional": True, "constant": False}],
    "workflow": SERVICE_DESCRIPTION["workflow"], "created-at": WHEN, "updated-at": WHEN, "links": _SERVICE_LINKS}

SERVICE_LIST = {
    "links": _list_links("/1/services?limit=1"),
    "services": [{key: SERVICE[key] for key in ("id", "name", "description", "provider", "links")}]}

_ORDER_PATH = f"/1/orders/{ORDER_ID}"

ORDER = {
    "id": ORDER_ID, "name": "field 12, June", "status": "pending", "ordered-at": WHEN,
    "service": {"id": SERVICE_ID, "links": _SERVICE_LINKS}, "account": {"id": "alice"},
    "parameters": [{"name": "scene", "value": "S2A_20260601"}, {"name": "threshold", "value": "0.4"}],
    "tags": ["field-12"], "inputs": [], "products": [],
    "links": _links(_ORDER_PATH, "OrderRT", logs=f"{BASE}{_ORDER_PATH}/logs", products=f"{BASE}{_ORDER_PATH}/products",
                    deliveries=f"{BASE}{_ORDER_PATH}/deliveries")}

ORDER_LIST = {"links": _list_links("/1/orders?limit=1"), "orders": [ORDER]}

ORDER_LOGS = {"links": _list_links(f"{_ORDER_PATH}/logs"),
              "items": [{"time": WHEN, "task": "main", "message": "NDVI of S2A_20260601: 0.41"}]}

ORDER_TASKS = {"tasks": [{"name": "main", "phase": "pending"}]}

ARTIFACT = {
    "id": ARTIFACT_ID, "name": "fields.csv", "status": "ready", "mime-type": "text/csv", "size": 19,
    "sha256": "4dc71e5f299779516b94969bb6fffab2221673634331d0a5912121208edd9bb6", "created-at": WHEN,
    "links": _links(f"/1/artifacts/{ARTIFACT_ID}", "ArtifactRT", data=f"{BASE}/1/artifacts/{ARTIFACT_ID}/blob")}

ARTIFACT_LIST = {"links": _list_links("/1/artifacts?limit=1"), "artifacts": [ARTIFACT]}

PRODUCT_LIST = {"links": _list_links(f"{_ORDER_PATH}/products"), "products": [ARTIFACT]}

# Trimmed to the parts a reader looks for: the resolved values and the container's command.
ORDER_DRY_RUN = {
    "service": ORDER["service"],
    "parameters": ORDER["parameters"],
    "manifest": {"apiVersion": "batch/v1", "kind": "Job",
                 "metadata": {"name": "order-00000000-0000-4000-8000-000000000000-b2dc1b138e",
                              "namespace": "marketplace-orders"},
                 "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
                     {"name": "main", "image": "ghcr.io/acme/ndvi:1.2",
                      "command": ["python", "-m", "ndvi", "--scene", "S2A_20260601", "--threshold", "0.4"]}]}}}},
    "valid": True, "problems": []}

WEBHOOK_ID = "urn:marketplace:webhook:0e5cfa2e-6a43-4d55-9d0b-3d8d3c0e8a51"

WEBHOOK = {"id": WEBHOOK_ID, "url": WEBHOOK_URL, "created-at": WHEN,
           "links": _links(f"/1/webhooks/{WEBHOOK_ID}", "WebhookRT")}

WEBHOOK_LIST = {"links": _list_links("/1/webhooks"), "webhooks": [WEBHOOK]}

WEBHOOK_SECRET = {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "created-at": WHEN}

DELIVERY_LIST = {"links": _list_links(f"{_ORDER_PATH}/deliveries"), "deliveries": [{
    "id": "msg_2b1f6c0e1f0a4f5c9a8e3d7b6c5a4f3e", "type": "order.succeeded", "url": WEBHOOK_URL,
    "status": "succeeded", "created-at": WHEN, "finished-at": "2026-06-01T12:00:07+00:00",
    "attempts": [{"number": 1, "started-at": "2026-06-01T12:00:01+00:00", "duration-ms": 5012, "outcome": "failed",
                  "error": "no answer within 5 s"},
                 {"number": 2, "started-at": "2026-06-01T12:00:06+00:00", "duration-ms": 38, "outcome": "succeeded",
                  "status-code": 200}],
    "links": {"order": f"{BASE}{_ORDER_PATH}"}}]}
