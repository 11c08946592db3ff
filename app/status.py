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


def _checked(transitions: dict, current: str, new: str, what: str):
    kind = type(next(iter(transitions)))
    current, new = kind(current), kind(new)
    if new not in transitions[current]:
        raise IllegalTransition(f"{what} cannot go from {current} to {new}")
    return new


def check_service_transition(current: str, new: str) -> ServiceStatus:
    return _checked(SERVICE_TRANSITIONS, current, new, "a service")


class OrderStatus(StrEnum):
    PENDING = "pending"        # accepted, waits for the worker
    SCHEDULED = "scheduled"    # submitted to the backend
    EXECUTING = "executing"    # the workload runs
    SUCCEEDED = "succeeded"    # the workload finished well
    FAILED = "failed"          # the workload failed
    ERROR = "error"            # the platform could not run it
    CANCELLED = "cancelled"    # stopped on request


FINISHED_ORDER_STATUSES = frozenset({OrderStatus.SUCCEEDED, OrderStatus.FAILED, OrderStatus.ERROR,
                                     OrderStatus.CANCELLED})
ACTIVE_ORDER_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.SCHEDULED, OrderStatus.EXECUTING})
_ENDINGS = {OrderStatus.ERROR, OrderStatus.CANCELLED}

# A finished order never changes again.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.SCHEDULED, *_ENDINGS}),
    OrderStatus.SCHEDULED: frozenset({OrderStatus.EXECUTING, OrderStatus.SUCCEEDED, OrderStatus.FAILED, *_ENDINGS}),
    OrderStatus.EXECUTING: frozenset({OrderStatus.SUCCEEDED, OrderStatus.FAILED, *_ENDINGS}),
    **{status: frozenset() for status in FINISHED_ORDER_STATUSES},
}


def check_order_transition(current: str, new: str) -> OrderStatus:
    return _checked(ORDER_TRANSITIONS, current, new, "an order")


class ArtifactStatus(StrEnum):
    UPLOADING = "uploading"  # a resumable upload has begun and is not complete
    READY = "ready"          # the content can be downloaded
    EXPIRED = "expired"      # a product past its retention period: its content was removed


class DeliveryStatus(StrEnum):
    PENDING = "pending"      # waits for its next attempt (or is being attempted)
    SUCCEEDED = "succeeded"  # the receiver answered 2xx
    FAILED = "failed"        # refused address, or no 2xx before its retry time ran out


class AttemptOutcome(StrEnum):
    SUCCEEDED = "succeeded"  # a 2xx answer
    FAILED = "failed"        # another answer, or no answer (timeout, connection refused, TLS)
    REFUSED = "refused"      # the callback resolved to an address callbacks may not reach
