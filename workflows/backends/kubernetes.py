"""The Kubernetes backend: basic orders run as Jobs, argo orders as Argo Workflows.

Status comes from watches (Jobs, Workflows and their pods, label-selected), which keep the newest
object of every order, and a small view of each pod, in memory, and note which orders changed;
the worker asks for those. Submitting is idempotent (the object's name derives from the order id).
While an order waits, its pods say why (the reason goes to the order's status message); a pod
that waits for a reason that will not heal ends its order after a grace time, and the Job or
Workflow is deleted. A running order's logs are read every few seconds, an ended one's once
more, and handed to the worker, which stores them before the TTL removes the pods.

Order data: a Job's helpers fetch its inputs and upload its products through the API
(workflows/job_data.py), so a Job has no products to report here; an argo order's products are
the output artifacts its Workflow's last-seen status names in the artifact repository.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from workflows.backends.argo_products import workflow_products
from workflows.backends.base import FINAL_PHASES, Observation, Phase, ProductList, Submission
from workflows.backends.cluster import JOBS, PODS, WORKFLOWS, ClusterClient, Resource
from workflows.backends.cluster_status import (
    PodView,
    has_label,
    is_ours,
    job_phase,
    order_id_of,
    order_waiting,
    pod_label,
    pod_view,
    workflow_phase,
    workflow_tasks,
)
from workflows.backends.deadlines import Deadlines
from workflows.backends.pod_logs import LogReader
from workflows.backends.pods import OrderPods
from workflows.backends.watch import ResourceWatcher
from workflows.compile import compile_order
from workflows.names import LABEL_MANAGED_BY, MANAGED_BY, object_name
from workflows.settings import CompileSettings

log = logging.getLogger(__name__)
SELECTOR = f"{LABEL_MANAGED_BY}={MANAGED_BY}"
DELETED_MESSAGE = "the {kind} was deleted before it finished"
LOST_MESSAGE = "the cluster has no Job or Workflow for this order"
STUCK_MESSAGE = "{reason} (still so after {seconds} s; the {kind} was deleted)"


class KubernetesBackend:
    workflow_types = frozenset({"basic", "argo"})

    def __init__(self, client: ClusterClient, settings: CompileSettings,
                 clock: Callable[[], float] = time.monotonic):
        self._client, self._settings, self._clock = client, settings, clock
        self._lock = threading.Lock()
        self._objects: dict[str, tuple[Resource, dict[str, Any] | None]] = {}  # None: deleted
        self._pods = OrderPods(clock)
        self._changed: set[str] = set()
        self._wake: Callable[[], None] = lambda: None  # the worker's, once started
        self._deadlines = Deadlines()
        self._stuck_ended: dict[str, str] = {}  # order id -> why it ended, until the worker has stored it
        self._logs = LogReader(client, settings.log_bytes, settings.log_poll_seconds, clock)
        self.watchers = [ResourceWatcher(client, resource, SELECTOR, self._lister(resource), self._handler(resource))
                         for resource in (JOBS, WORKFLOWS)]
        self.watchers.append(ResourceWatcher(client, PODS, SELECTOR, self._list_pods, self._apply_pod_event))

    # -- the watch side -------------------------------------------------------------------
    def _remember(self, resource: Resource, obj: dict[str, Any] | None, order_id: str) -> None:
        self._objects[order_id] = (resource, obj)
        self._changed.add(order_id)
        self._wake()

    def _lister(self, resource: Resource):
        def on_list(items: list[dict[str, Any]]) -> None:
            with self._lock:
                listed = set()
                for obj in items:
                    if (order_id := order_id_of(obj)) and is_ours(obj):
                        listed.add(order_id)
                        self._remember(resource, obj, order_id)
                for order_id, (kind, obj) in list(self._objects.items()):
                    if kind == resource and obj is not None and order_id not in listed:
                        self._remember(resource, None, order_id)  # deleted while we were not watching
        return on_list

    def _handler(self, resource: Resource):
        def on_event(kind: str, obj: dict[str, Any]) -> None:
            self.apply_event(resource, kind, obj)
        return on_event

    def apply_event(self, resource: Resource, kind: str, obj: dict[str, Any]) -> None:
        """One watch event into the picture (also the benchmark's way in)."""
        order_id = order_id_of(obj)
        if order_id is None or not is_ours(obj):
            return  # the emulator and some proxies ignore label selectors
        with self._lock:
            if kind == "DELETED" and order_id not in self._objects:
                return  # an order already stored and forgotten (cancelled, or ended stuck)
            self._remember(resource, None if kind == "DELETED" else obj, order_id)

    def _list_pods(self, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self._changed |= self._pods.replace(items)
        self._wake()

    def _apply_pod_event(self, kind: str, pod: dict[str, Any]) -> None:
        with self._lock:
            if order_id := self._pods.apply(kind, pod):
                self._changed.add(order_id)
                self._wake()

    def start(self, stop: threading.Event, changed: Callable[[], None] = lambda: None) -> None:
        self._wake = changed
        for watcher in self.watchers:
            watcher.start(stop)

    def healthy(self) -> bool:
        return self.watchers[0].synced.is_set()

    def changed_orders(self) -> set[str]:
        """Orders with news from a watch, and those due for a look: a log read, a grace time ended."""
        with self._lock:
            changed, self._changed = self._changed | self._deadlines.pop_due(self._clock()), set()
        return changed

    # -- the worker's side ----------------------------------------------------------------
    def submit(self, submission: Submission) -> None:
        inputs = [(artifact.parameter, artifact.artifact_id) for artifact in submission.inputs]
        manifest = compile_order(submission.order_id, submission.service_id, submission.workflow,
                                 submission.parameters, self._settings, inputs, submission.access_token)
        created = self._client.create(manifest)
        log.info("%s %s %s", "created" if created else "found existing", manifest["kind"],
                 manifest["metadata"]["name"], extra={"order_id": submission.order_id})

    def _current(self, order_id: str) -> tuple[Resource, dict[str, Any] | None] | None:
        with self._lock:
            known = self._objects.get(order_id)
        if known is not None:
            return known
        for resource in (JOBS, WORKFLOWS):  # not seen by the watch yet: ask once
            if (obj := self._client.get(resource, object_name(order_id))) is not None:
                return resource, obj
        return None

    def observe(self, order_id: str, logs_kept: int) -> Observation:
        if order_id in self._stuck_ended:
            return Observation(Phase.FAILED, self._stuck_ended[order_id])
        current = self._current(order_id)
        if current is None:
            return Observation(Phase.GONE, LOST_MESSAGE)
        resource, obj = current
        if obj is None:
            return Observation(Phase.FAILED, DELETED_MESSAGE.format(kind=resource.kind))
        phase, reason = job_phase(obj) if resource == JOBS else workflow_phase(obj)
        tasks = None if resource == JOBS else workflow_tasks(obj)
        if phase in (Phase.SUCCEEDED, Phase.FAILED):
            logs = self._logs.read(order_id, self._pods_of_ended(resource, obj), logs_kept, ended=True)
            return Observation(phase, reason, logs, tasks)
        return self._observe_live(order_id, resource, Observation(phase, reason, tasks=tasks), logs_kept)

    def _observe_live(self, order_id: str, resource: Resource, seen: Observation, logs_kept: int) -> Observation:
        """An order whose workload has not ended: why it waits, whether it waited too long, and
        its logs so far when a read is due."""
        with self._lock:
            pods, stuck_since = self._pods.of(order_id), self._pods.stuck_since(order_id)
        if stuck_since is not None:
            if self._clock() - stuck_since >= self._settings.stuck_seconds:
                return self._end_stuck(order_id, resource, order_waiting(pods) or "")
            with self._lock:
                self._deadlines.arm(order_id, stuck_since + self._settings.stuck_seconds)
        if seen.phase == Phase.WAITING:
            return dataclasses.replace(seen, reason=order_waiting(pods) or seen.reason)
        with self._lock:
            self._deadlines.arm(order_id, self._clock() + self._settings.log_poll_seconds)
        if not self._logs.due(order_id):
            return seen
        return dataclasses.replace(seen, logs=self._logs.read(order_id, pods, logs_kept, ended=False))

    def _pods_of_ended(self, resource: Resource, obj: dict[str, Any]) -> list[PodView]:
        """Asked of the API, not the pod watch, which may lag behind the Job's or Workflow's end."""
        label = pod_label(resource.kind, obj)
        pods, _ = self._client.list(PODS, "=".join(label))
        return [pod_view(pod) for pod in pods if has_label(pod, label)]

    def _end_stuck(self, order_id: str, resource: Resource, waiting: str) -> Observation:
        """A pod has waited for a reason that will not heal for longer than the grace time: the
        order ends failed, and its workload is deleted so that it holds nothing in the cluster."""
        reason = STUCK_MESSAGE.format(reason=waiting, seconds=self._settings.stuck_seconds, kind=resource.kind)
        with self._lock:  # should the delete fail, look again soon
            self._deadlines.arm(order_id, self._clock() + self._settings.log_poll_seconds)
        self._client.delete(resource, object_name(order_id))
        self._stuck_ended[order_id] = reason  # the Job's DELETED event must not change the story
        log.info("order stuck, %s deleted: %s", resource.kind, waiting, extra={"order_id": order_id})
        return Observation(Phase.FAILED, reason)

    def cancel(self, order_id: str) -> None:
        current = self._current(order_id)
        if current is None or current[1] is None:
            return
        if current[0] == JOBS:
            self._client.delete(JOBS, object_name(order_id))
        else:
            self._client.shutdown_workflow(object_name(order_id))

    def unfinished_workloads(self) -> set[str]:
        with self._lock:
            known = [(order_id, resource, obj) for order_id, (resource, obj) in self._objects.items() if obj]
        return {order_id for order_id, resource, obj in known
                if (job_phase(obj) if resource == JOBS else workflow_phase(obj))[0] not in FINAL_PHASES}

    def products(self, order_id: str) -> ProductList:
        """A Workflow's output artifacts; none for a Job (its collector uploaded them)."""
        current = self._current(order_id)
        if current is None or current[0] != WORKFLOWS or current[1] is None:
            return ProductList()
        products = workflow_products(current[1], self._settings.max_products)
        if products.refused:
            log.warning("products left out: %s", "; ".join(products.refused), extra={"order_id": order_id})
        return products

    def forget(self, order_id: str) -> None:
        """The order has ended and is stored: what the backend keeps of it is no longer needed
        (its pods stay in the picture until the cluster removes them)."""
        with self._lock:
            self._objects.pop(order_id, None)
            self._deadlines.forget(order_id)
        self._stuck_ended.pop(order_id, None)
        self._logs.forget(order_id)
