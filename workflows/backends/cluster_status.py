"""What a Job or a Workflow object says about its order: pure functions over the objects as
the Kubernetes API returns them."""
from __future__ import annotations

from typing import Any

from workflows.backends.base import Phase
from workflows.names import ANNOTATION_ORDER

# Argo node phases in the order's terms.
NODE_PHASES = {"Pending": "scheduled", "Running": "executing", "Succeeded": "succeeded", "Failed": "failed",
               "Error": "error", "Skipped": "skipped", "Omitted": "skipped"}
# Argo node types that are a step of the user's workload (not the groups around them).
WORKFLOW_TASK_TYPES = ("Pod", "Suspend", "Skipped", "Container", "HTTP", "Plugin")


def order_id_of(obj: dict[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_ORDER)


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
    tasks = [{"name": node.get("displayName") or node.get("name"), "phase": NODE_PHASES.get(node.get("phase"), "scheduled"),
              "started_at": node.get("startedAt"), "finished_at": node.get("finishedAt"),
              "message": node.get("message")}
             for node in nodes if node.get("type") in WORKFLOW_TASK_TYPES]
    return sorted(tasks, key=lambda t: (t["started_at"] or "~", t["name"] or ""))
