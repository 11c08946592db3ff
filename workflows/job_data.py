"""A Job's order data: the init container that fetches its inputs and the sidecar that uploads
its products, both running the marketplace's own image (`python -m workflows.pod_io`).

Inputs are downloaded from the API into an emptyDir that the workload mounts read-only; the
workload writes products into a second emptyDir, which the collector (a native sidecar: an init
container with `restartPolicy: Always`, Kubernetes >= 1.29) shares. The kubelet sends the sidecar
SIGTERM once the workload's container has ended, and the collector then uploads what it finds,
within the pod's grace period; the Job ends only after that, so its products are in before the
worker sees the order end. The order's access token goes into the helpers' environment only,
never the workload's. Without `helper_image` and `api_url_for_workloads`, Jobs get neither helper.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflows.order_data import INPUTS_DIR, OUTPUTS_DIR, data_environment
from workflows.settings import CompileSettings

FETCH_CONTAINER, COLLECT_CONTAINER = "fetch-inputs", "collect-products"
INPUTS_VOLUME, OUTPUTS_VOLUME = "marketplace-inputs", "marketplace-outputs"
TOKEN_VARIABLE = "MARKETPLACE_ACCESS_TOKEN"
# Time for the collector after SIGTERM: 10 GiB at ~50 MB/s, with room to spare.
COLLECT_GRACE_SECONDS = 900
HELPER_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
HELPER_SECURITY = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "readOnlyRootFilesystem": True,
                   "capabilities": {"drop": ["ALL"]}}


def helpers_configured(settings: CompileSettings) -> bool:
    return bool(settings.helper_image and settings.api_url_for_workloads)


def _helper(name: str, arguments: list[str], mount: dict[str, Any], access_token: str | None,
            settings: CompileSettings) -> dict[str, Any]:
    # No token in a dry run: the container is shown as it will be, less the secret.
    env = [{"name": TOKEN_VARIABLE, "value": access_token}] if access_token else []
    return {"name": name, "image": settings.helper_image, "workingDir": "/",
            "command": ["python", "-m", "workflows.pod_io", *arguments, "--api", settings.api_url_for_workloads],
            "env": env, "volumeMounts": [mount], "resources": HELPER_RESOURCES, "securityContext": HELPER_SECURITY}


def add_order_data(pod: dict[str, Any], order_id: str, inputs: Sequence[tuple[str, str]],
                   access_token: str | None, settings: CompileSettings) -> None:
    """Add input delivery (when there are `inputs`: (parameter, artifact id)) and product
    collection (always) to the pod spec of a Job whose workload is `pod["containers"][0]`."""
    if not helpers_configured(settings):
        return
    main = pod["containers"][0]
    volumes, init = [{"name": OUTPUTS_VOLUME, "emptyDir": {}}], []
    mounts = [{"name": OUTPUTS_VOLUME, "mountPath": OUTPUTS_DIR}]
    if inputs:
        volumes.append({"name": INPUTS_VOLUME, "emptyDir": {}})
        mounts.append({"name": INPUTS_VOLUME, "mountPath": INPUTS_DIR, "readOnly": True})
        pairs = [f"{parameter}={artifact_id}" for parameter, artifact_id in inputs]
        init.append(_helper(FETCH_CONTAINER, ["fetch", "--into", INPUTS_DIR, *pairs],
                            {"name": INPUTS_VOLUME, "mountPath": INPUTS_DIR}, access_token, settings))
    collect = _helper(COLLECT_CONTAINER, ["collect", "--order", order_id, "--from", OUTPUTS_DIR,
                                          "--max-files", str(settings.max_products),
                                          "--max-bytes", str(settings.max_product_bytes)],
                      {"name": OUTPUTS_VOLUME, "mountPath": OUTPUTS_DIR, "readOnly": True}, access_token, settings)
    init.append({**collect, "restartPolicy": "Always"})
    main["env"] += [{"name": key, "value": value}
                    for key, value in data_environment(INPUTS_DIR if inputs else None, OUTPUTS_DIR).items()]
    main["volumeMounts"] = mounts
    pod.update(initContainers=init, volumes=volumes, terminationGracePeriodSeconds=COLLECT_GRACE_SECONDS)
