"""What an operator sets for the objects the platform creates and how closely it follows them
(the app builds it from its config)."""
from __future__ import annotations

import re
from dataclasses import dataclass

_RESOURCE_KIND = re.compile(r"(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Z][A-Za-z0-9]*")


@dataclass(frozen=True)
class ArtifactRepositoryRef:
    """An Argo artifact repository: the key of a ConfigMap in the orders' namespace."""

    config_map: str
    key: str


@dataclass(frozen=True)
class CompileSettings:
    namespace: str = "marketplace-orders"
    service_account: str = "marketplace-runner"  # argo workflow pods; basic Jobs mount no token
    backoff_limit: int = 0
    active_deadline_seconds: int = 3600
    ttl_seconds_after_finished: int = 86400
    allowed_secrets: frozenset[str] = frozenset()
    run_as_user: int = 10000  # uid (and gid) of basic Jobs, so images built to run as root run unchanged
    log_bytes: int = 10 * 1024 * 1024  # log output kept per order; past it, one line says it was cut
    stuck_seconds: int = 300  # how long a pod may wait for a reason that will not heal before its order fails
    log_poll_seconds: int = 5  # how often a running order's logs are read
    # Kinds (`Kind`, any API group, or `group/Kind`) an argo resource template may touch; none: no resource templates.
    argo_resource_kinds: frozenset[str] = frozenset()
    # Order data. The marketplace API as order pods reach it (http://marketplace-api.marketplace.svc:8000)
    # and the marketplace's own image (Python and this package), which fetches inputs and collects
    # products beside a Job's workload; without both, Jobs get neither.
    api_url_for_workloads: str | None = None
    helper_image: str | None = None
    artifact_repository: ArtifactRepositoryRef | None = None  # where argo orders' output artifacts go
    max_products: int = 1000  # files kept per order
    max_product_bytes: int = 10 * 1024**3  # bytes kept per order, all its files together


def parse_resource_kinds(text: str) -> frozenset[str]:
    """`ConfigMap, batch/Job` → {"ConfigMap", "batch/Job"}; ValueError names an entry that is not a kind."""
    kinds = frozenset(entry.strip() for entry in text.split(",") if entry.strip())
    for kind in sorted(kinds):
        if not _RESOURCE_KIND.fullmatch(kind):
            raise ValueError(f"{kind!r} is not a Kind (ConfigMap) or a group/Kind (batch/Job)")
    return kinds
