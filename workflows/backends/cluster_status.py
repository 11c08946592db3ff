"""What a Job, a Workflow or a pod says about its order: pure functions over the objects as
the Kubernetes API returns them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows.backends.base import Phase
from workflows.names import ANNOTATION_ORDER, LABEL_MANAGED_BY, MANAGED_BY

# Argo node phases in the order's terms.
NODE_PHASES = {"Pending": "scheduled", "Running": "executing", "Succeeded": "succeeded", "Failed": "failed",
               "Error": "error", "Skipped": "skipped", "Omitted": "skipped"}
# Argo node types that are a step of the user's workload (not the groups around them).
WORKFLOW_TASK_TYPES = ("Pod", "Suspend", "Skipped", "Container", "HTTP", "Plugin")


# Waiting reasons that do not heal while the pod waits: the image reference, the registry's
# answer or the container's configuration is wrong, and the kubelet only retries the same thing.
# A registry outage or a Secret created late can still cure them, hence a grace time before the
# order fails. Not here: Unschedulable (nodes may be added, and the Job's deadline bounds it),
# ContainerCreating and PodInitializing (progress), CrashLoopBackOff (the program ran).
STUCK_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                           "CreateContainerConfigError", "CreateContainerError"})
ARGO_NODE_ANNOTATION = "workflows.argoproj.io/node-name"
MAX_REASON_CHARS = 1000  # the kubelet copies registry answers into messages


@dataclass(frozen=True)
class PodView:
    """What one pod says about its order, kept by the pod watch instead of the whole object."""

    name: str
    order_id: str | None
    created: str
    finished: bool  # its containers have ended, so its log is complete
    waiting: str | None  # why it does not run, e.g. 'ImagePullBackOff: Back-off pulling image "nope:1"'
    stuck: bool  # the waiting reason will not heal (STUCK_REASONS)
    task: str | None  # the Argo node it runs, if any

    @property
    def order_key(self) -> tuple[str, str]:
        """Creation order: the order in which its pods' logs are kept."""
        return self.created, self.name


def _reason(reason: str, message: str | None) -> str:
    return (f"{reason}: {message}" if message else reason)[:MAX_REASON_CHARS]


def pod_waiting(pod: dict[str, Any]) -> tuple[str | None, bool]:
    """Why the pod does not run yet, and whether that will heal. A container that cannot start for
    good (STUCK_REASONS) says more than one merely created, and more than an unscheduled pod."""
    status = pod.get("status") or {}
    waiting = [(state.get("reason"), state.get("message"))
               for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
               if (state := (container.get("state") or {}).get("waiting") or {}).get("reason")]
    for reason, message in waiting:
        if reason in STUCK_REASONS:
            return _reason(reason, message), True
    unscheduled = [(c.get("reason") or "Unschedulable", c.get("message")) for c in status.get("conditions") or []
                   if c.get("type") == "PodScheduled" and c.get("status") == "False"]
    if reasons := unscheduled + waiting:
        return _reason(*reasons[0]), False
    return None, False


def pod_view(pod: dict[str, Any]) -> PodView:
    metadata = pod.get("metadata") or {}
    waiting, stuck = pod_waiting(pod)
    return PodView(name=metadata.get("name") or "", order_id=order_id_of(pod),
                   created=metadata.get("creationTimestamp") or "",
                   finished=(pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"),
                   waiting=waiting, stuck=stuck, task=(metadata.get("annotations") or {}).get(ARGO_NODE_ANNOTATION))


def order_waiting(pods: list[PodView]) -> str | None:
    """Why an order's pods do not run: a reason that will not heal first."""
    return next((pod.waiting for pod in pods if pod.stuck), None) or next((pod.waiting for pod in pods if pod.waiting),
                                                                           None)


def order_id_of(obj: dict[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_ORDER)


def is_ours(obj: dict[str, Any]) -> bool:
    """Made by the platform (our watches select on this label; the emulator and some proxies
    ignore label selectors, so it is checked here too)."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_MANAGED_BY) == MANAGED_BY


def pod_label(kind: str, workload: dict[str, Any]) -> tuple[str, str]:
    """The label its controller puts on every pod of a Job or a Workflow (list items carry no kind)."""
    metadata = workload.get("metadata") or {}
    if kind == "Workflow":
        return "workflows.argoproj.io/workflow", metadata.get("name") or ""
    if uid := metadata.get("uid"):
        return "batch.kubernetes.io/controller-uid", uid
    return "job-name", metadata.get("name") or ""


def has_label(obj: dict[str, Any], label: tuple[str, str]) -> bool:
    key, value = label
    return ((obj.get("metadata") or {}).get("labels") or {}).get(key) == value


def job_phase(job: dict[str, Any]) -> tuple[Phase, str | None]:
    """The Job's phase and its reason. A Job has finished only when its `Complete` or `Failed`
    condition is True (`SuccessCriteriaMet` and `FailureTarget` come first, while pods stop);
    it runs once one of its pods is ready, i.e. its containers have started."""
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return Phase.SUCCEEDED, None
        if condition.get("type") == "Failed":
            reason = ": ".join(part for part in (condition.get("reason"), condition.get("message")) if part)
            return Phase.FAILED, reason or "the Job failed"
    if status.get("ready"):
        return Phase.RUNNING, None
    return Phase.WAITING, None


def workflow_phase(workflow: dict[str, Any]) -> tuple[Phase, str | None]:
    """The Workflow's phase and its reason: running once one of its steps runs, not as soon as
    the controller marks the Workflow Running (its pods may still be waiting for an image)."""
    status = workflow.get("status") or {}
    phase = status.get("phase")
    if phase == "Succeeded":
        return Phase.SUCCEEDED, None
    if phase in ("Failed", "Error"):
        return Phase.FAILED, status.get("message") or f"the Workflow ended {phase}"
    steps = [node for node in (status.get("nodes") or {}).values() if node.get("type") in WORKFLOW_TASK_TYPES]
    if any(node.get("phase") in ("Running", "Succeeded", "Failed", "Error") for node in steps):
        return Phase.RUNNING, None
    waiting = next((node.get("message") for node in steps if node.get("message")), None)
    return Phase.WAITING, waiting or status.get("message")


def workflow_tasks(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """The Argo nodes that ran the workload, in start order, as the order's tasks."""
    nodes = ((workflow.get("status") or {}).get("nodes") or {}).values()
    tasks = [{"name": node.get("displayName") or node.get("name"),
              "phase": NODE_PHASES.get(node.get("phase"), "scheduled"),
              "started_at": node.get("startedAt"), "finished_at": node.get("finishedAt"),
              "message": node.get("message")}
             for node in nodes if node.get("type") in WORKFLOW_TASK_TYPES]
    return sorted(tasks, key=lambda t: (t["started_at"] or "~", t["name"] or ""))
