"""The worker builds pending services: ready when their workflow can run, error saying why."""
from __future__ import annotations

import pytest

from tests.factories import basic_workflow, service_description


def test_a_sound_basic_service_becomes_ready_and_can_be_ordered(alice, bob, worker):
    runnable = basic_workflow(command=["python3", "-c", "pass"])
    service = alice.post("/1/services", json=service_description(workflow=runnable)).get_json()
    assert worker.run_once() == 1
    built = alice.get(f"/1/services/{service['id']}").get_json()
    assert built["status"] == "ready" and "status-message" not in built
    placed = bob.post("/1/orders", json={"service-id": service["id"],
                                         "parameters": [{"name": "scene", "value": "S2A"}]})
    assert placed.status_code == 201
    worker.run_once()
    assert bob.get(placed.headers["Location"]).get_json()["status"] in ("scheduled", "executing", "succeeded")


@pytest.mark.parametrize("workflow, message", [
    ({"type": "basic", "basic": {"image": "alpine", "cpu": {"request": "abc"}}},
     "workflow.basic.cpu.request: 'abc' is not a Kubernetes quantity (e.g. 500m, 2, 256Mi)"),
    ({"type": "basic", "basic": {"image": "alpine", "memory": {"request": "2Gi", "limit": "1Gi"}}},
     "workflow.basic.memory.request: the request is larger than the limit (1Gi)"),
    ({"type": "argo", "argo": {"spec": {"entrypoint": "main"}}},
     "workflow.type: argo workflows need the Kubernetes backend (MARKETPLACE_BACKEND=kubernetes); "
     "this server runs the local backend"),
])
def test_a_service_that_cannot_run_ends_error_with_a_message(alice, worker, workflow, message):
    service = alice.post("/1/services", json=service_description(workflow=workflow)).get_json()
    worker.run_once()
    built = alice.get(f"/1/services/{service['id']}").get_json()
    assert (built["status"], built["status-message"]) == ("error", message)


def test_fixing_a_service_builds_it_again(alice, worker):
    bad = service_description(workflow={"type": "basic", "basic": {"image": "Not An Image"}})
    service = alice.post("/1/services", json=bad).get_json()
    worker.run_once()
    assert alice.get(f"/1/services/{service['id']}").get_json()["status"] == "error"
    fixed = alice.put(f"/1/services/{service['id']}", json=service_description()).get_json()
    assert fixed["status"] == "pending" and "status-message" not in fixed
    worker.run_once()
    assert alice.get(f"/1/services/{service['id']}").get_json()["status"] == "ready"
