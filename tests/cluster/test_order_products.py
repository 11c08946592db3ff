"""An argo order's products through the worker: the output artifacts its Workflow reports (written
to the platform's store by Argo's executor) become the consumer's products, measured from the
store, once the order ends; a Job's products arrive through the API from its collector."""
from __future__ import annotations

import hashlib

import kubernetes

from tests.cluster.conftest import NAMESPACE, wait_for
from tests.cluster.test_honest_orders import place
from tests.cluster.test_kubernetes_backend import status_of
from workflows.names import object_name


def test_an_argo_orders_output_artifacts_become_its_consumers_products(app, alice, bob, start_worker, emulator):
    placed = place(alice, bob, start_worker, emulator, argo=True)
    name = object_name(placed.order_id)
    key = f"{name}/{name}-1/counts.txt"
    content = b"42 words\n"
    app.extensions["artifact_store"].put(key, [content], 1024)  # what Argo's executor wrote
    node = {"id": f"{name}-1", "name": f"{name}.count", "displayName": "count", "type": "Pod",
            "phase": "Succeeded", "startedAt": "2026-11-23T10:00:01Z",
            "outputs": {"artifacts": [{"name": "counts", "path": "/out/counts.txt", "archive": {"none": {}},
                                       "s3": {"key": key}}]}}
    kubernetes.client.CustomObjectsApi(emulator.api_client()).patch_namespaced_custom_object(
        "argoproj.io", "v1alpha1", NAMESPACE, "workflows", name,
        {"status": {"phase": "Succeeded", "nodes": {node["id"]: node}}})
    done = wait_for(lambda: (s := status_of(bob, placed.order_id)).get("finished-at") and s, placed.worker)
    assert done["status"] == "succeeded"
    [product] = done["products"]
    assert (product["name"], product["size"]) == ("count/counts", len(content))
    record = bob.get(product["links"]["self"]).get_json()
    assert record["sha256"] == hashlib.sha256(content).hexdigest()
    assert bob.get(product["links"]["data"]).data == content
    assert alice.get(product["links"]["data"]).status_code == 404
