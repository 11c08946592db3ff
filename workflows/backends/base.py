"""The one small interface every backend offers the worker."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True)
class InputArtifact:
    """An artifact an order hands its workload: the value of the artifact parameter `parameter`
    (in Submission.parameters) is `artifact_id`."""

    parameter: str
    artifact_id: str  # urn:marketplace:artifact:<uuid>
    open: Callable[[], Iterator[bytes]]  # streams the content (the local backend copies it); unused by Kubernetes


@dataclass(frozen=True)
class Submission:
    """What to run for one order (values already checked, workflow snapshot of the order)."""

    order_id: str
    service_id: str
    workflow: dict[str, Any]
    parameters: Sequence[tuple[str, str]]
    inputs: Sequence[InputArtifact] = ()
    # Minted by the app for this one order: it may download exactly this order's inputs and upload
    # its products through the API, nothing else.
    access_token: str | None = None


@dataclass(frozen=True)
class ProducedFile:
    """A file an order's workload left in its outputs folder."""

    name: str  # its path inside the outputs folder, "/"-separated: "result.csv", "plots/a.png"
    size: int | None
    open: Callable[[], Iterator[bytes]] | None = None  # the local backend: streams the file
    store_key: str | None = None  # argo: the object key the Argo executor wrote it to in the artifact store


class ProductList(list):
    """The products of an order (a list of ProducedFile), and `refused`: one line per file or
    group of files left out (over a limit, a link, a bad name), for the worker to log."""

    def __init__(self, files: Sequence[ProducedFile] = (), refused: Sequence[str] = ()):
        super().__init__(files)
        self.refused = list(refused)


@dataclass(frozen=True)
class LogLine:
    time: datetime
    task: str
    message: str


class Phase(StrEnum):
    """What a backend saw of an order's workload, in terms common to every backend."""

    WAITING = "waiting"      # the workload exists, nothing of it runs yet (reason: why not)
    RUNNING = "running"      # a container or process of it runs
    SUCCEEDED = "succeeded"
    FAILED = "failed"        # it ended badly (reason: how)
    GONE = "gone"            # the backend has no workload for this order (reason: what it knows)


FINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.GONE})


@dataclass(frozen=True)
class Observation:
    phase: Phase
    reason: str | None = None
    logs: list[LogLine] = field(default_factory=list)  # after those the worker has kept
    tasks: list[dict[str, Any]] | None = None  # the workload's steps, where the backend knows them

    @property
    def finished(self) -> bool:
        return self.phase in FINAL_PHASES


class BackendUnavailable(Exception):
    """The backend cannot be reached now; the step is retried on a later pass."""


class Backend(Protocol):
    workflow_types: frozenset[str]  # the workflow types it can run ("basic", "argo")

    def submit(self, submission: Submission) -> None:
        """Start the order; submitting the same order twice must not run it twice."""

    def observe(self, order_id: str, logs_kept: int) -> Observation:
        """The workload's phase, and its log lines after the first `logs_kept` (those the worker
        has stored already, so a restarted worker neither loses nor repeats a line); GONE if
        the backend has no workload for this order."""

    def cancel(self, order_id: str) -> None:
        """Ask the workload to stop, without waiting for it; a no-op if it has ended."""

    def start(self, stop: threading.Event, changed: Callable[[], None] = lambda: None) -> None:
        """Begin watching workloads (in threads that end when `stop` is set), calling `changed`
        when there is news for the worker (a workload ended, a watch event came)."""

    def changed_orders(self) -> set[str] | None:
        """Orders with news since the last call (drained), or None: no change feed, look at all."""

    def unfinished_workloads(self) -> set[str]:
        """The orders whose workloads the backend is starting or running."""

    def products(self, order_id: str) -> ProductList:
        """The files the order's workload left, once the order has ended (called by the worker
        after a final observation and before forget(); it may be called again after a worker
        crash, so it must be repeatable). Kubernetes Jobs return [] (their collector uploaded them
        through the API). A ProductList's `refused` says what was left out and why."""

    def forget(self, order_id: str) -> None:
        """The order's end is stored; the backend may drop what it keeps of it."""

    def healthy(self) -> bool:
        """Whether the backend sees its workloads (for the worker's readiness)."""
