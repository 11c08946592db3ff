"""Hostile argo definitions over the API: refused at publish and at dry run, quickly and in small
answers, without holding up other services."""
from __future__ import annotations

import time

import pytest

from app.worker import Worker, make_backend
from tests.app.orders.test_orders_api import ARGO_PARAMETERS, ARGO_SPEC
from tests.factories import service_description
from tests.workflows.test_untrusted import ALIAS_BOMB


@pytest.fixture
def worker(app, config):
    """A worker that builds argo services too: building only checks definitions, so the local
    backend, told it runs argo, stands in for the cluster (no order is submitted here)."""
    backend = make_backend(config)
    backend.workflow_types = frozenset({"basic", "argo"})
    return Worker(app.extensions["database"], config, backend=backend)


def publish(client, argo, parameters=()):
    response = client.post("/1/services", json=service_description(
        workflow={"type": "argo", "argo": argo}, parameters=list(parameters)))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def built(client, service_id):
    return client.get(f"/1/services/{service_id}").get_json()


def test_an_alias_bomb_ends_error_in_one_pass_and_the_service_after_it_is_ready(alice, worker):
    assert len(ALIAS_BOMB) < 1024
    bomb = publish(alice, ALIAS_BOMB)
    plain = publish(alice, {"spec": ARGO_SPEC}, ARGO_PARAMETERS)
    started = time.monotonic()
    worker.run_once()
    assert time.monotonic() - started < 5
    refused = built(alice, bomb)
    assert refused["status"] == "error"
    assert refused["status-message"].startswith("workflow.argo: larger than 1048576 bytes with its YAML aliases")
    assert built(alice, plain)["status"] == "ready"


def test_a_dry_run_of_an_alias_bomb_answers_the_problem_in_a_small_body(alice, bob):
    bomb = publish(alice, ALIAS_BOMB)
    started = time.monotonic()
    response = bob.post("/1/orders/dry-run", json={"service-id": bomb, "parameters": []})
    assert time.monotonic() - started < 5
    assert response.status_code == 200 and len(response.data) < 4096
    body = response.get_json()
    assert body["valid"] is False and body.get("manifest") is None
    assert [problem["name"] for problem in body["problems"]] == ["workflow.argo"]


def test_resource_templates_and_pods_below_baseline_end_error_naming_the_field(alice, worker):
    privileged_pod = ("apiVersion: v1\nkind: Pod\n"
                      "spec: {containers: [{name: m, image: a, securityContext: {privileged: true}}]}")
    resource = publish(alice, {"entrypoint": "main", "templates": [
        {"name": "main", "resource": {"action": "create", "manifest": privileged_pod}}]})
    host_port = publish(alice, {"entrypoint": "main", "templates": [{"name": "main", "container": {
        "image": "alpine", "ports": [{"containerPort": 80, "hostPort": 80}]}}]})
    worker.run_once()
    assert built(alice, resource)["status-message"].startswith(
        "workflow.argo.templates.0.resource: resource templates are off")
    assert built(alice, host_port)["status-message"].startswith(
        "workflow.argo.templates.0.container.ports.0.hostPort: Host Ports")


def test_a_default_argo_would_expand_ends_the_service_error_naming_it(alice, worker):
    service = publish(alice, {"spec": ARGO_SPEC}, [{"name": "scene", "type": "string", "default": "{{workflow.name}}"}])
    worker.run_once()
    assert built(alice, service)["status-message"] == (
        "parameters.0.default: a value for an argo workflow may not contain '{{'")


def test_an_order_value_outside_the_arguments_enum_is_a_422_naming_parameter_and_value(alice, bob, worker):
    spec = {**ARGO_SPEC, "arguments": {"parameters": [{"name": "scene", "enum": ["S1", "S2"]}]}}
    service = publish(alice, {"spec": spec}, ARGO_PARAMETERS)
    worker.run_once()
    assert built(alice, service)["status"] == "ready"
    response = bob.post("/1/orders", json={"service-id": service, "parameters": [{"name": "scene", "value": "S3"}]})
    assert response.status_code == 422
    assert (response.get_json()["name"], response.get_json()["value"]) == ("scene", "S3")
    placed = bob.post("/1/orders", json={"service-id": service, "parameters": [{"name": "scene", "value": "S2"}]})
    assert placed.status_code == 201


def test_a_dry_run_shows_what_a_marketplace_must_not_run_with_the_definitions_paths(alice, bob):
    service = publish(alice, {"spec": {**ARGO_SPEC, "templates": [{"name": "main", "container": {
        "image": "alpine", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}}]}}, ARGO_PARAMETERS)
    body = bob.post("/1/orders/dry-run", json={"service-id": service, "parameters": [
        {"name": "scene", "value": "S1"}]}).get_json()
    assert body["valid"] is False and body["manifest"]["kind"] == "Workflow"
    assert [(p["name"], p["value"]) for p in body["problems"]] == [
        ("workflow.argo.spec.templates.0.container.securityContext.capabilities.add.0", "SYS_ADMIN")]
