"""A `basic` workflow and an order's values → the command line, and a `batch/v1` Job.

Convention (the same on every backend): each parameter becomes the argument pair
`--name value`, appended to the service's `command` (or, with no command, given as `args` to
the image's entrypoint); no shell is involved, so a value is always one literal argument. The
order's id and the service's id are in the environment as MARKETPLACE_ORDER_ID and
MARKETPLACE_SERVICE_ID.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflows.names import object_annotations, object_labels, object_name
from workflows.settings import CompileSettings

CONTAINER_NAME = "main"


def parameter_arguments(parameters: Sequence[tuple[str, str]]) -> list[str]:
    return [item for name, value in parameters for item in (f"--{name}", value)]


def basic_command_line(basic: dict[str, Any], parameters: Sequence[tuple[str, str]]) -> list[str]:
    """What a local process runs: the service's command followed by the parameter pairs."""
    return [*basic.get("command", []), *parameter_arguments(parameters)]


def order_environment(order_id: str, service_id: str) -> dict[str, str]:
    return {"MARKETPLACE_ORDER_ID": order_id, "MARKETPLACE_SERVICE_ID": service_id}


def _resources(basic: dict[str, Any]) -> dict[str, dict[str, str]]:
    resources: dict[str, dict[str, str]] = {}
    for resource in ("cpu", "memory"):
        for bound, key in (("request", "requests"), ("limit", "limits")):
            if value := (basic.get(resource) or {}).get(bound):
                resources.setdefault(key, {})[resource] = value
    return resources


def compile_basic_job(order_id: str, service_id: str, basic: dict[str, Any],
                      parameters: Sequence[tuple[str, str]], settings: CompileSettings) -> dict[str, Any]:
    labels, annotations = object_labels(order_id, service_id), object_annotations(order_id, service_id)
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": basic["image"],
        "env": [{"name": key, "value": value} for key, value in order_environment(order_id, service_id).items()],
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    if basic.get("command"):
        container["command"] = basic_command_line(basic, parameters)
    elif parameters:
        container["args"] = parameter_arguments(parameters)
    if resources := _resources(basic):
        container["resources"] = resources
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": object_name(order_id), "namespace": settings.namespace, "labels": labels,
                     "annotations": annotations},
        "spec": {
            "backoffLimit": settings.backoff_limit,
            "activeDeadlineSeconds": settings.active_deadline_seconds,
            "ttlSecondsAfterFinished": settings.ttl_seconds_after_finished,
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},  # the pod watch finds the order
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    # The restricted Pod Security Standard, with a uid of our own: an image whose
                    # user is root still runs, and runAsNonRoot holds.
                    "securityContext": {"runAsNonRoot": True, "runAsUser": settings.run_as_user,
                                        "runAsGroup": settings.run_as_user,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                },
            },
        },
    }
