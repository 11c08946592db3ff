"""Argo artifacts and the platform's store: a definition may not name storage of its own (with the
platform's repository credentials a key of its choosing could read or overwrite another tenant's
objects); orders' inputs arrive from the API; products are read from a Workflow's status, also
when Argo compressed it."""
from __future__ import annotations

import base64
import gzip
import json

import pytest

from workflows.argo_checks import check_argo_workflow
from workflows.backends.argo_products import workflow_products
from workflows.compile import OrderDataUnavailable, compile_order, dry_run
from workflows.names import PLACEHOLDER_ORDER_ID
from workflows.settings import CompileSettings

HOSTILE = {"spec": {
    "entrypoint": "main",
    "artifactRepositoryRef": {"configMap": "someone-elses", "key": "default"},
    "arguments": {"parameters": [{"name": "table"}],
                  "artifacts": [{"name": "theirs", "s3": {"key": "orders/other-tenant/result.tgz"}}]},
    "templates": [
        {"name": "main", "archiveLocation": {"archiveLogs": True, "gcs": {"key": "logs/elsewhere"}},
         "inputs": {"artifacts": [{"name": "peek", "path": "/in", "azure": {"blob": "other/blob"}},
                                  {"name": "fine", "path": "/web", "http": {"url": "https://example.org/a.csv"}},
                                  {"name": "code", "path": "/src", "git": {"repo": "https://example.org/r.git"}}]},
         "container": {"image": "alpine:3.20", "command": ["true"]},
         "outputs": {"artifacts": [{"name": "overwrite", "path": "/out", "s3": {"key": "orders/other-tenant/x"}},
                                   {"name": "via", "path": "/out2", "plugin": {"name": "any", "configuration": "k"}},
                                   {"name": "result", "path": "/out3"}]}}]}}
PARAMETERS = [{"name": "table", "type": "artifact"}]


def test_a_definition_naming_storage_of_its_own_is_refused_with_the_paths():
    problems = check_argo_workflow(HOSTILE, PARAMETERS, CompileSettings())
    refused = {problem.path for problem in problems if "storage" in problem.message or "repository" in problem.message}
    assert refused == {
        "workflow.argo.spec.artifactRepositoryRef",
        "workflow.argo.spec.arguments.artifacts.0.s3",
        "workflow.argo.spec.templates.0.archiveLocation.gcs",
        "workflow.argo.spec.templates.0.inputs.artifacts.0.azure",
        "workflow.argo.spec.templates.0.outputs.artifacts.0.s3",
        "workflow.argo.spec.templates.0.outputs.artifacts.1.plugin",
    }  # http and git inputs fetch from elsewhere; an output without a location goes to the platform's store


SOUND = {"spec": {"entrypoint": "main", "arguments": {"artifacts": [{"name": "table"}]},
                  "templates": [{"name": "main", "inputs": {"artifacts": [{"name": "table", "path": "/in/t.csv"}]},
                                 "container": {"image": "alpine:3.20", "command": ["wc", "-l", "/in/t.csv"]}}]}}


def test_an_artifact_parameter_may_be_declared_as_an_argument_artifact_only():
    assert check_argo_workflow(SOUND, PARAMETERS, CompileSettings()) == []
    as_string = check_argo_workflow(SOUND, [{"name": "table", "type": "string"}], CompileSettings())
    assert [problem.path for problem in as_string] == ["workflow.argo.spec.arguments.parameters"]


def test_inputs_without_the_apis_address_cannot_be_delivered():
    inputs = [("table", "urn:marketplace:artifact:1")]
    for workflow in ({"type": "argo", "argo": SOUND}, {"type": "basic", "basic": {"image": "alpine:3"}}):
        with pytest.raises(OrderDataUnavailable):
            compile_order("urn:marketplace:order:1", "s", workflow, [("table", inputs[0][1])], CompileSettings(),
                          inputs, "token")
        manifest, [problem] = dry_run(PLACEHOLDER_ORDER_ID, "s", workflow, inputs, CompileSettings(), inputs)
        assert manifest is None and "api_url_for_workloads" in problem.message


def test_a_dry_run_shows_the_input_artifact_without_a_token():
    settings = CompileSettings(api_url_for_workloads="http://api:8000")
    manifest, problems = dry_run(PLACEHOLDER_ORDER_ID, "s", {"type": "argo", "argo": SOUND},
                                 [("table", "urn:marketplace:artifact:1")], settings,
                                 [("table", "urn:marketplace:artifact:1")])
    assert problems == []
    assert manifest["spec"]["arguments"]["artifacts"] == [
        {"name": "table", "http": {"url": "http://api:8000/1/artifacts/urn%3Amarketplace%3Aartifact%3A1/blob"}}]
    assert "artifactRepositoryRef" not in manifest["spec"]


def compressed(nodes):
    return base64.b64encode(gzip.compress(json.dumps(nodes).encode())).decode()


def test_products_are_read_from_compressed_node_status_and_a_bomb_is_refused():
    nodes = {"n1": {"id": "n1", "displayName": "count", "type": "Pod", "startedAt": "2026-11-23T10:00:01Z",
                    "outputs": {"artifacts": [{"name": "counts", "s3": {"key": "w/n1/counts.tgz"}}]}}}
    [product] = workflow_products({"status": {"compressedNodes": compressed(nodes)}}, 10)
    assert (product.name, product.store_key, product.size) == ("count/counts.tgz", "w/n1/counts.tgz", None)
    bomb = base64.b64encode(gzip.compress(b" " * (65 * 1024 * 1024))).decode()
    products = workflow_products({"status": {"compressedNodes": bomb}}, 10)
    assert products == [] and "inflates past" in products.refused[0]
    offloaded = workflow_products({"status": {"offloadNodeStatusVersion": "fnv:1"}}, 10)
    assert offloaded == [] and "offloaded" in offloaded.refused[0]
