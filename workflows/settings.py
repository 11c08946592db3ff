"""What an operator sets for the objects the platform creates (the app builds it from its config)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CompileSettings:
    namespace: str = "marketplace-orders"
    service_account: str = "marketplace-runner"  # argo workflow pods; basic Jobs mount no token
    backoff_limit: int = 0
    active_deadline_seconds: int = 3600
    ttl_seconds_after_finished: int = 86400
    allowed_secrets: frozenset[str] = frozenset()
