"""The one small interface every backend offers the worker."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, Sequence


@dataclass(frozen=True)
class Submission:
    """What to run for one order (values already checked, workflow snapshot of the order)."""

    order_id: str
    service_id: str
    workflow: dict[str, Any]
    parameters: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class LogLine:
    time: datetime
    task: str
    message: str


@dataclass(frozen=True)
class Observation:
    """What a backend saw of an order: still running, or finished with an outcome."""

    running: bool
    succeeded: bool = False
    message: str | None = None
    logs: list[LogLine] = field(default_factory=list)
    tasks: list[dict[str, Any]] | None = None  # the workload's steps, where the backend knows them


class BackendUnavailable(Exception):
    """The backend cannot be reached now; the step is retried on a later pass."""


class Backend(Protocol):
    def submit(self, submission: Submission) -> None:
        """Start the order; submitting the same order twice must not run it twice."""

    def observe(self, order_id: str) -> Observation | None:
        """The order's state and the log lines since the last call; None if unknown here."""

    def cancel(self, order_id: str) -> None:
        """Stop the order if it runs; a no-op otherwise."""

    def start(self, stop: "threading.Event") -> None:
        """Begin watching workloads (in threads that end when `stop` is set)."""

    def changed_orders(self) -> set[str] | None:
        """Orders with news since the last call (drained), or None: no change feed, look at all."""

    def forget(self, order_id: str) -> None:
        """The order's end is stored; the backend may drop what it keeps of it."""

    def healthy(self) -> bool:
        """Whether the backend sees its workloads (for the worker's readiness)."""
