"""The Kubernetes backend: basic orders run as Jobs, argo orders as Argo Workflows.

Status comes from watches (one per resource, label-selected), which keep the newest object of
every order in memory and note which orders changed; the worker asks for those. Submitting is
idempotent (the object's name derives from the order id). Logs are read from the pods when the
order ends and handed to the worker, which stores them, before the TTL removes the pods.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from workflows.backends.base import FINAL_PHASES, Observation, Phase, Submission
from workflows.backends.cluster import JOBS, WORKFLOWS, ClusterClient, Resource
from workflows.backends.cluster_status import job_phase, order_id_of, workflow_phase, workflow_tasks
from workflows.backends.watch import ResourceWatcher
from workflows.basic import CONTAINER_NAME
from workflows.compile import compile_order
from workflows.names import LABEL_MANAGED_BY, MANAGED_BY, object_name
from workflows.settings import CompileSettings

log = logging.getLogger(__name__)
SELECTOR = f"{LABEL_MANAGED_BY}={MANAGED_BY}"
DELETED_MESSAGE = "the {kind} was deleted before it finished"
LOST_MESSAGE = "the cluster has no Job or Workflow for this order"
ARGO_NODE_ANNOTATION = "workflows.argoproj.io/node-name"


class KubernetesBackend:
    workflow_types = frozenset({"basic", "argo"})

    def __init__(self, client: ClusterClient, settings: CompileSettings):
        self._client, self._settings = client, settings
        self._lock = threading.Lock()
        self._objects: dict[str, tuple[Resource, dict[str, Any] | None]] = {}  # None: deleted
        self._changed: set[str] = set()
        self.watchers = [ResourceWatcher(client, resource, SELECTOR, self._lister(resource), self._handler(resource))
                         for resource in (JOBS, WORKFLOWS)]

    # -- the watch side -------------------------------------------------------------------
    def _remember(self, resource: Resource, obj: dict[str, Any] | None, order_id: str) -> None:
        self._objects[order_id] = (resource, obj)
        self._changed.add(order_id)

    def _lister(self, resource: Resource):
        def on_list(items: list[dict[str, Any]]) -> None:
            with self._lock:
                listed = set()
                for obj in items:
                    if (order_id := order_id_of(obj)) and _ours(obj):
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
        if order_id is None or not _ours(obj):
            return  # the emulator and some proxies ignore label selectors
        with self._lock:
            self._remember(resource, None if kind == "DELETED" else obj, order_id)

    def start(self, stop: threading.Event) -> None:
        for watcher in self.watchers:
            watcher.start(stop)

    def healthy(self) -> bool:
        return self.watchers[0].synced.is_set()

    def changed_orders(self) -> set[str]:
        with self._lock:
            changed, self._changed = self._changed, set()
        return changed

    # -- the worker's side ----------------------------------------------------------------
    def submit(self, submission: Submission) -> None:
        manifest = compile_order(submission.order_id, submission.service_id, submission.workflow,
                                 submission.parameters, self._settings)
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
        current = self._current(order_id)
        if current is None:
            return Observation(Phase.GONE, LOST_MESSAGE)
        resource, obj = current
        if obj is None:
            return Observation(Phase.FAILED, DELETED_MESSAGE.format(kind=resource.kind))
        if resource == JOBS:
            phase, reason = job_phase(obj)
            tasks = None
        else:
            phase, reason = workflow_phase(obj)
            tasks = workflow_tasks(obj)
        logs = self._logs(resource, obj)[logs_kept:] if phase in (Phase.SUCCEEDED, Phase.FAILED) else []
        return Observation(phase, reason, logs=logs, tasks=tasks)

    def _logs(self, resource: Resource, obj: dict[str, Any]):
        metadata = obj.get("metadata") or {}
        if resource == JOBS:
            uid = metadata.get("uid")
            selector = f"batch.kubernetes.io/controller-uid={uid}" if uid else f"job-name={metadata.get('name')}"
            return self._client.pod_logs(selector, CONTAINER_NAME)
        return self._client.pod_logs(f"workflows.argoproj.io/workflow={metadata.get('name')}", "main",
                                     ARGO_NODE_ANNOTATION)

    def cancel(self, order_id: str) -> None:
        current = self._current(order_id)
        if current is None or current[1] is None:
            return
        if current[0] == JOBS:
            self._client.delete_job(object_name(order_id))
        else:
            self._client.shutdown_workflow(object_name(order_id))

    def unfinished_workloads(self) -> set[str]:
        with self._lock:
            known = [(order_id, resource, obj) for order_id, (resource, obj) in self._objects.items() if obj]
        return {order_id for order_id, resource, obj in known
                if not (job_phase(obj) if resource == JOBS else workflow_phase(obj))[0] in FINAL_PHASES}

    def forget(self, order_id: str) -> None:
        """The order has ended and is stored: its object is no longer needed in memory."""
        with self._lock:
            self._objects.pop(order_id, None)


def _ours(obj: dict[str, Any]) -> bool:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_MANAGED_BY) == MANAGED_BY
