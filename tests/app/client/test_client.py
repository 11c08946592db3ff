"""app.client against the committed spec (one method per operation, both ways) and against the
app served over HTTP: a few calls of every resource round-trip, errors carry the API's body."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from app import examples
from app.client import ApiError, MarketplaceClient
from tests.conftest import TEST_SECRET

SPEC = Path(__file__).resolve().parents[3] / "openapi" / "openapi.json"


def spec_operation_ids() -> set[str]:
    spec = json.loads(SPEC.read_text())
    return {operation["operationId"] for item in spec["paths"].values() for operation in item.values()
            if isinstance(operation, dict) and "operationId" in operation}


def client_operations() -> dict[str, str]:
    """operationId -> the name of the client method marked with it."""
    return {method.operation_id: name for name, method in vars(MarketplaceClient).items()
            if hasattr(method, "operation_id")}


def test_every_operation_has_a_client_method_and_every_method_an_operation():
    assert set(client_operations()) == spec_operation_ids()


def test_methods_are_named_after_their_operation_ids():
    for operation_id, name in client_operations().items():
        assert name == re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def test_the_client_imports_nothing_of_the_server():
    import subprocess
    import sys

    code = ("import sys, app.client; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'marshmallow')))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


@pytest.fixture
def client(api_url):
    from app.auth import SharedSecretVerifier

    with MarketplaceClient(api_url, SharedSecretVerifier(TEST_SECRET).issue("alice", 3600)) as client:
        yield client


def make_ready(app, service_id: str) -> None:
    from app.services.models import Service

    session = app.extensions["database"].sessions()
    with session.begin():
        session.get(Service, service_id).status = "ready"
    session.close()


def test_services_round_trip(client):
    created = client.create_service(examples.SERVICE_DESCRIPTION)
    assert created["status"] == "pending" and client.get_service(created["id"])["name"] == "NDVI"
    upserted = client.update_service(examples.SERVICE_ID, examples.SERVICE_DESCRIPTION, force_create=True)
    assert upserted["id"] == examples.SERVICE_ID
    assert client.update_service(examples.SERVICE_ID, {**examples.SERVICE_DESCRIPTION, "name": "NDVI 2"})["name"] \
        == "NDVI 2"
    listed = client.list_services(orderby="name", limit=1)
    assert len(listed["services"]) == 1 and "next" in listed["links"]
    assert [item["name"] for page in client.pages(listed) for item in page["services"]] == ["NDVI", "NDVI 2"]
    client.delete_service(created["id"])
    with pytest.raises(ApiError) as error:
        client.get_service(created["id"])
    assert error.value.status == 404 and error.value.body["id"] == created["id"]
    assert error.value.message == "no service has this id" or error.value.message


def test_a_refused_request_carries_the_api_error_body(client):
    with pytest.raises(ApiError) as error:
        client.create_service({**examples.SERVICE_DESCRIPTION, "workflow": {"type": "basic", "basic": {}}})
    assert error.value.status == 422
    assert error.value.body["name"] == "workflow.basic.image" and "workflow.basic.image" in str(error.value)


def test_orders_round_trip(app, client):
    client.update_service(examples.SERVICE_ID, examples.SERVICE_DESCRIPTION, force_create=True)
    make_ready(app, examples.SERVICE_ID)
    assert client.dry_run_order(examples.ORDER_REQUEST)["valid"] is True
    order = client.create_order(examples.ORDER_REQUEST, idempotency_key="k-1")
    assert client.create_order(examples.ORDER_REQUEST, idempotency_key="k-1")["id"] == order["id"]
    assert client.get_order(order["id"])["status"] == "pending"
    assert [o["id"] for o in client.list_orders(filter="status eq 'pending'")["orders"]] == [order["id"]]
    assert [o["id"] for o in client.list_service_orders(examples.SERVICE_ID)["orders"]] == [order["id"]]
    assert client.list_order_logs(order["id"], limit=10)["items"] == []
    assert client.list_order_tasks(order["id"])["tasks"][0]["name"] == "main"
    assert client.list_order_products(order["id"])["products"] == []
    assert client.cancel_order(order["id"])["status"] == "cancelled"
    with pytest.raises(ApiError) as error:
        client.cancel_order(order["id"])
    assert error.value.status == 409


def test_artifacts_stream_both_ways(client, tmp_path):
    content = b"field,ndvi\n" + b"12,0.41\n" * 200_000  # a few MiB: several chunks each way
    source = tmp_path / "fields.csv"
    source.write_bytes(content)
    with source.open("rb") as file:
        artifact = client.upload_artifact(file, name="fields.csv", mime_type="text/csv")
    assert artifact["size"] == len(content) and client.get_artifact(artifact["id"])["mime-type"] == "text/csv"
    assert [a["id"] for a in client.list_artifacts()["artifacts"]] == [artifact["id"]]
    target = tmp_path / "copy.csv"
    with target.open("wb") as file:
        assert client.download_artifact(artifact["id"], file) == len(content)
    assert target.read_bytes() == content
    client.delete_artifact(artifact["id"])
    with pytest.raises(ApiError) as error:
        client.download_artifact(artifact["id"], io.BytesIO())
    assert error.value.status == 404


def test_a_resumable_upload(client):
    assert client.get_upload_options()["Tus-Version"] == "1.0.0"
    upload = client.begin_upload(6, name="six.txt", mime_type="text/plain")
    assert upload["status"] == "uploading" and client.get_upload_offset(upload["id"]) == 0
    assert client.append_to_upload(upload["id"], 0, b"abc") == 3
    assert client.append_to_upload(upload["id"], client.get_upload_offset(upload["id"]), b"def") == 6
    assert client.get_artifact(upload["id"])["status"] == "ready"
    other = client.begin_upload(3)
    client.abandon_upload(other["id"])
    with pytest.raises(ApiError):
        client.get_artifact(other["id"])


def test_the_client_follows_an_orders_events_and_resumes_after_the_last_it_saw(client, ready_service):
    service = ready_service()
    order = client.create_order({"service-id": service["id"], "parameters": [{"name": "scene", "value": "a"}]})
    client.cancel_order(order["id"])
    events = list(client.follow_order_events(order["id"]))  # ends with the final status
    assert [(e["event"], e["status"]) for e in events] == [("status", "pending"), ("status", "cancelled")]
    assert all(e["order-id"] == order["id"] for e in events)
    assert list(client.follow_order_events(order["id"], last_event_id=events[0]["id"], follow=False)) == events[1:]
    mine = list(client.follow_orders_events(filter="status eq 'cancelled'", follow=False))
    assert [e["id"] for e in mine] == [e["id"] for e in events]
