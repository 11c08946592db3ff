"""Order data on Kubernetes, against the API server emulator: the Job and the Workflow the backend
creates carry the input delivery and product collection, pass the strict schemas and the
restricted Pod Security Standard, and an argo order's products are the output artifacts its
Workflow's status reports."""
from __future__ import annotations

import json
import threading

import kubernetes
import pytest

from tests.cluster.conftest import NAMESPACE, wait_for
from workflows.argo_schema import workflow_schema_problems
from workflows.backends.base import InputArtifact, ProducedFile, Submission
from workflows.backends.cluster import ClusterClient
from workflows.backends.kubernetes import KubernetesBackend
from workflows.checks import job_problems
from workflows.compile import dry_run
from workflows.names import PLACEHOLDER_ORDER_ID, object_name
from workflows.settings import ArtifactRepositoryRef, CompileSettings

API = "http://marketplace-api.marketplace.svc:8000"
SETTINGS = CompileSettings(namespace=NAMESPACE, api_url_for_workloads=API, helper_image="ghcr.io/acme/marketplace:3",
                           artifact_repository=ArtifactRepositoryRef("marketplace-artifacts", "default"),
                           max_products=3)
ORDER = "urn:marketplace:order:6a0c"
ARTIFACT = "urn:marketplace:artifact:91fe"
TOKEN = "order-scoped-token"
BASIC = {"type": "basic", "basic": {"image": "ghcr.io/acme/count:1", "command": ["count", "--lines"]}}
ARGO = {"type": "argo", "argo": {"spec": {
    "entrypoint": "main", "arguments": {"parameters": [{"name": "mode"}], "artifacts": [{"name": "table"}]},
    "templates": [{"name": "main", "inputs": {"artifacts": [{"name": "table", "path": "/in/table.csv"}]},
                   "container": {"image": "alpine:3.20", "command": ["wc", "-l", "/in/table.csv"]},
                   "outputs": {"artifacts": [{"name": "counts", "path": "/out/counts.txt"}]}}]}}}


@pytest.fixture
def backend(emulator):
    backend = KubernetesBackend(ClusterClient(emulator.api_client(), NAMESPACE), SETTINGS)
    stop = threading.Event()
    backend.start(stop)
    yield backend
    stop.set()


def submission(workflow, inputs=True):
    artifacts = [InputArtifact("table", ARTIFACT, lambda: iter(()))] if inputs else []
    return Submission(ORDER, "urn:acme:service:count", workflow, [("mode", "fast"), ("table", ARTIFACT)],
                      inputs=artifacts, access_token=TOKEN)


def containers(pod):
    return {container["name"]: container for container in [*pod.get("initContainers", []), *pod["containers"]]}


def test_a_job_fetches_its_inputs_and_collects_its_products_and_only_the_helpers_hold_the_token(backend, emulator):
    backend.submit(submission(BASIC))
    [job] = emulator.objects("jobs")
    assert job_problems(job) == []  # the strict schema and the restricted Pod Security Standard
    pod = job["spec"]["template"]["spec"]
    named = containers(pod)
    main, fetch, collect = named["main"], named["fetch-inputs"], named["collect-products"]
    assert main["command"] == ["count", "--lines", "--mode", "fast", "--table", "/marketplace/inputs/table"]
    assert {"name": "MARKETPLACE_OUTPUTS_DIR", "value": "/marketplace/outputs"} in main["env"]
    assert TOKEN not in json.dumps(main)
    assert fetch["command"][3:] == ["fetch", "--into", "/marketplace/inputs", f"table={ARTIFACT}", "--api", API]
    assert collect["restartPolicy"] == "Always" and collect["command"][3] == "collect"
    for helper in (fetch, collect):
        assert helper["image"] == SETTINGS.helper_image
        assert helper["env"] == [{"name": "MARKETPLACE_ACCESS_TOKEN", "value": TOKEN}]
    assert [c["name"] for c in pod["initContainers"]] == ["fetch-inputs", "collect-products"]
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in main["volumeMounts"]}
    assert mounts == {"/marketplace/inputs": True, "/marketplace/outputs": False}
    assert pod["terminationGracePeriodSeconds"] >= 600
    assert backend.products(ORDER) == []  # the collector uploaded them


def test_a_job_without_inputs_still_collects_products():
    manifest, problems = dry_run(PLACEHOLDER_ORDER_ID, "s", BASIC, [], SETTINGS)
    assert problems == []
    pod = manifest["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["collect-products"]
    assert [v["name"] for v in pod["volumes"]] == ["marketplace-outputs"]
    assert all("env" not in c or c["env"] == [] for c in pod["initContainers"])  # no token in a dry run


def test_a_workflow_gets_its_inputs_from_the_api_and_stores_outputs_in_the_platforms_repository(backend, emulator):
    backend.submit(submission(ARGO))
    [workflow] = emulator.objects("workflows")
    assert workflow_schema_problems(workflow) == []
    spec = workflow["spec"]
    assert spec["arguments"]["artifacts"] == [{"name": "table", "http": {
        "url": f"{API}/1/artifacts/urn%3Amarketplace%3Aartifact%3A91fe/blob",
        "headers": [{"name": "Authorization", "value": f"Bearer {TOKEN}"}]}}]
    assert spec["artifactRepositoryRef"] == {"configMap": "marketplace-artifacts", "key": "default"}


def step(name, started, artifacts, node_type="Pod"):
    return {"id": name, "name": name, "displayName": name.rsplit(".", 1)[-1], "type": node_type, "phase": "Succeeded",
            "startedAt": started, "outputs": {"artifacts": artifacts}}


def test_an_argo_orders_products_are_the_output_artifacts_its_workflow_reports(backend, emulator):
    backend.submit(submission(ARGO))
    name = object_name(ORDER)
    counts = {"name": "counts", "path": "/out/counts.txt", "s3": {"key": f"{name}/{name}-1/counts.tgz"}}
    plot = {"name": "plot", "path": "/out/p.png", "archive": {"none": {}}, "s3": {"key": f"{name}/{name}-2/p.png"}}
    nodes = {
        name: step(name, "2026-11-23T10:00:00Z", [counts], node_type="Steps"),  # a group repeats its step's
        f"{name}-1": step(f"{name}.count", "2026-11-23T10:00:01Z", [
            counts, {"name": "main-logs", "s3": {"key": f"{name}/{name}-1/main.log"}},
            {"name": "inline", "raw": {"data": "not in the store"}}]),
        f"{name}-2": step(f"{name}.plot(0:a/b)", "2026-11-23T10:00:02Z", [plot]),
        f"{name}-3": step(f"{name}.more", "2026-11-23T10:00:03Z", [
            {"name": f"n{i}", "s3": {"key": f"{name}/{name}-3/n{i}.tgz"}} for i in range(3)]),
    }
    kubernetes.client.CustomObjectsApi(emulator.api_client()).patch_namespaced_custom_object(
        "argoproj.io", "v1alpha1", NAMESPACE, "workflows", name, {"status": {"phase": "Succeeded", "nodes": nodes}})
    wait_for(lambda: backend.observe(ORDER, 0).finished)
    products = backend.products(ORDER)
    assert products == [ProducedFile("count/counts.tgz", None, store_key=f"{name}/{name}-1/counts.tgz"),
                        ProducedFile("plot(0_a_b)/plot", None, store_key=f"{name}/{name}-2/p.png"),
                        ProducedFile("more/n0.tgz", None, store_key=f"{name}/{name}-3/n0.tgz")]
    assert products.refused == ["2 more files left out: an order keeps at most 3 files"]
    assert backend.products(ORDER) == products  # again, after a worker's crash
