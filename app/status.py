"""Every status set and its allowed transitions, in one place."""
from __future__ import annotations

from enum import StrEnum


class IllegalTransition(Exception):
    """A status change the life cycle does not allow (a bug in the caller, not bad input)."""


class ServiceStatus(StrEnum):
    PENDING = "pending"      # published or updated; waits for the worker to build it
    BUILDING = "building"    # the worker is checking and preparing its workflow
    READY = "ready"          # can be ordered
    ERROR = "error"          # could not be built; status-message says why


# Publishing an update restarts the life cycle from any state.
SERVICE_TRANSITIONS: dict[ServiceStatus, frozenset[ServiceStatus]] = {
    ServiceStatus.PENDING: frozenset({ServiceStatus.PENDING, ServiceStatus.BUILDING, ServiceStatus.ERROR}),
    ServiceStatus.BUILDING: frozenset({ServiceStatus.PENDING, ServiceStatus.READY, ServiceStatus.ERROR}),
    ServiceStatus.READY: frozenset({ServiceStatus.PENDING}),
    ServiceStatus.ERROR: frozenset({ServiceStatus.PENDING}),
}


def check_service_transition(current: str, new: str) -> ServiceStatus:
    current, new = ServiceStatus(current), ServiceStatus(new)
    if new not in SERVICE_TRANSITIONS[current]:
        raise IllegalTransition(f"a service cannot go from {current} to {new}")
    return new
