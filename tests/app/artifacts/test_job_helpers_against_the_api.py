"""The helpers that run beside a Job's workload (workflows.pod_io), against the real API served
over HTTP: with the token the worker signs for one order they fetch that order's input and upload
its products, which its consumer then sees; they get nothing of another order."""
from __future__ import annotations

import pytest

from app.workload_tokens import issue_workload_token
from tests.conftest import TEST_SECRET
from workflows import pod_io


def test_the_job_helpers_fetch_the_input_and_upload_products_with_the_orders_token(
        api_url, bob, ready_service, tmp_path):
    service = ready_service(parameters=[{"name": "table", "type": "artifact"}])
    content = b"field,ndvi\n12,0.41\n"
    artifact = bob.post("/1/artifacts", data=content, headers={"Content-Type": "text/csv"}).get_json()
    other = bob.post("/1/artifacts", data=b"not this one").get_json()
    order = bob.post("/1/orders", json={"service-id": service["id"],
                                        "parameters": [{"name": "table", "value": artifact["id"]}]}).get_json()
    token = issue_workload_token(TEST_SECRET, order["id"], 600)

    inputs, outputs = tmp_path / "inputs", tmp_path / "outputs"
    inputs.mkdir()
    pod_io.fetch(api_url, token, inputs, [("table", artifact["id"])], delays=())
    assert (inputs / "table").read_bytes() == content
    with pytest.raises(pod_io.Refused):  # not an input of this order
        pod_io.fetch(api_url, token, inputs, [("other", other["id"])], delays=())
    assert not (inputs / "other").exists()

    (outputs / "plots").mkdir(parents=True)
    (outputs / "summary.txt").write_text("1 row\n")
    (outputs / "plots" / "a.csv").write_text("x\n")
    assert pod_io.collect(api_url, token, order["id"], outputs, 10, 1024, delays=()) == 0
    seen = bob.get(f"/1/orders/{order['id']}").get_json()
    assert sorted((p["name"], p["mime-type"], p["size"]) for p in seen["products"]) == [
        ("plots/a.csv", "text/csv", 2), ("summary.txt", "text/plain", 6)]
    summary = next(p for p in seen["products"] if p["name"] == "summary.txt")
    assert bob.get(summary["links"]["data"]).data == b"1 row\n"
