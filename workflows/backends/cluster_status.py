"""What a Job or a Workflow object says about its order: pure functions over the objects as
the Kubernetes API returns them."""
from __future__ import annotations

from typing import Any

from workflows.names import ANNOTATION_ORDER

WORKFLOW_FINISHED = {"Succeeded": True, "Failed": False, "Error": False}
# Argo node phases in the order's terms.
NODE_PHASES = {"Pending": "scheduled", "Running": "executing", "Succeeded": "succeeded", "Failed": "failed",
               "Error": "error", "Skipped": "skipped", "Omitted": "skipped"}
# Argo node types that are a step of the user's workload (not the groups around them).
WORKFLOW_TASK_TYPES = ("Pod", "Suspend", "Skipped", "Container", "HTTP", "Plugin")


def order_id_of(obj: dict[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_ORDER)


def job_outcome(job: dict[str, Any]) -> tuple[bool, bool, str | None]:
    """(finished, succeeded, message). A Job has finished only when its `Complete` or `Failed`
    condition is True: `SuccessCriteriaMet` and `FailureTarget` come first, while pods stop."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return True, True, None
        if condition.get("type") == "Failed":
            reason = ": ".join(part for part in (condition.get("reason"), condition.get("message")) if part)
            return True, False, reason or "the Job failed"
    return False, False, None


def workflow_outcome(workflow: dict[str, Any]) -> tuple[bool, bool, str | None]:
    status = workflow.get("status") or {}
    phase = status.get("phase")
    if phase not in WORKFLOW_FINISHED:
        return False, False, None
    succeeded = WORKFLOW_FINISHED[phase]
    return True, succeeded, None if succeeded else (status.get("message") or f"the Workflow ended {phase}")


def workflow_tasks(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """The Argo nodes that ran the workload, in start order, as the order's tasks."""
    nodes = ((workflow.get("status") or {}).get("nodes") or {}).values()
    tasks = [{"name": node.get("displayName") or node.get("name"), "phase": NODE_PHASES.get(node.get("phase"), "scheduled"),
              "started_at": node.get("startedAt"), "finished_at": node.get("finishedAt"),
              "message": node.get("message")}
             for node in nodes if node.get("type") in WORKFLOW_TASK_TYPES]
    return sorted(tasks, key=lambda t: (t["started_at"] or "~", t["name"] or ""))
