"""Names and labels of cluster objects, derived from ids so that a retried submit finds the same
object instead of creating a second one."""
from __future__ import annotations

import hashlib
import re

MANAGED_BY = "marketplace"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_ORDER = "marketplace/order-id"
LABEL_SERVICE = "marketplace/service-id"
ANNOTATION_ORDER = "marketplace/order-id"
ANNOTATION_SERVICE = "marketplace/service-id"
# The order id compiled into manifests that no real order runs (publish checks, dry runs).
PLACEHOLDER_ORDER_ID = "urn:marketplace:order:00000000-0000-4000-8000-000000000000"
_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


def _digest(text: str, length: int = 10) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def object_name(order_id: str) -> str:
    """A DNS-1123 label of at most 63 characters, stable for an order id."""
    tail = _NOT_DNS.sub("-", order_id.lower().rsplit(":", 1)[-1]).strip("-")[:40].strip("-")
    return f"order-{tail}-{_digest(order_id)}" if tail else f"order-{_digest(order_id)}"


def label_value(identifier: str) -> str:
    """A valid label value (≤ 63, [A-Za-z0-9._-], alphanumeric at both ends) for any id."""
    cleaned = _NOT_LABEL.sub("_", identifier).strip("._-")
    if cleaned == identifier and len(identifier) <= 63:
        return identifier
    return f"{cleaned[:52].strip('._-')}-{_digest(identifier)}".strip("._-")


def object_labels(order_id: str, service_id: str) -> dict[str, str]:
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_ORDER: label_value(order_id),
            LABEL_SERVICE: label_value(service_id)}


def object_annotations(order_id: str, service_id: str) -> dict[str, str]:
    return {ANNOTATION_ORDER: order_id, ANNOTATION_SERVICE: service_id}
