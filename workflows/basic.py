"""A `basic` workflow and an order's values → the command line, and a `batch/v1` Job.

Convention (the same on every backend): each parameter becomes the argument pair
`--name value`, appended to the service's `command` (or, with no command, given as `args` to
the image's entrypoint); no shell is involved, so a value is always one literal argument. The
order's id and the service's id are in the environment as MARKETPLACE_ORDER_ID and
MARKETPLACE_SERVICE_ID.

Data: an `artifact` parameter whose value names an artifact of the marketplace reaches the
workload as the absolute path of a local file holding its content, `<inputs folder>/<parameter
name>` (a value that is an http(s):// URL is passed unchanged). MARKETPLACE_INPUTS_DIR names the
(read-only) inputs folder, MARKETPLACE_OUTPUTS_DIR an empty writable folder: every regular file
the workload leaves there becomes a product of the order, named by its path relative to that
folder ("result.csv", "plots/a.png"); links and special files do not, and each order keeps at
most a set number and total size of files. In a Job (and in the local sandbox) the folders are
/marketplace/inputs and /marketplace/outputs; a local order run without a sandbox gets real paths
in its run folder. A Job gets its inputs from an init container and its products are uploaded by
a sidecar when the workload ends (`workflows.job_data`), whether it succeeded or failed.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflows.job_data import add_order_data, helpers_configured
from workflows.names import object_annotations, object_labels, object_name
from workflows.order_data import INPUTS_DIR, with_input_paths
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
                      parameters: Sequence[tuple[str, str]], settings: CompileSettings,
                      inputs: Sequence[tuple[str, str]] = (), access_token: str | None = None) -> dict[str, Any]:
    """`inputs`: (parameter, artifact id) of the artifacts the order hands its workload, which an
    init container fetches with `access_token`; a sidecar uploads the products (job_data)."""
    if helpers_configured(settings):
        parameters = with_input_paths(parameters, [name for name, _ in inputs], INPUTS_DIR)
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
    job = {
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
    add_order_data(job["spec"]["template"]["spec"], order_id, inputs, access_token, settings)
    return job
