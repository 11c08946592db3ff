"""Orders and their data through the API: artifact inputs checked at order time (the consumer's
own, ready ones only), lineage both ways, and products seen by the order's consumer alone and
uploaded only by the order's own workload."""
from __future__ import annotations

import pytest

from app.auth import SharedSecretVerifier
from app.workload_tokens import issue_workload_token
from tests.conftest import TEST_SECRET, ApiClient

TABLE = {"name": "table", "type": "artifact", "label": "A CSV file"}


def upload(client, content=b"a,b\n1,2\n", name="t.csv"):
    response = client.post("/1/artifacts", data=content, headers={"Content-Type": "text/csv", "X-Name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def data_service(ready_service):
    return ready_service(parameters=[TABLE])


def order(client, service, value):
    return client.post("/1/orders", json={"service-id": service["id"],
                                          "parameters": [{"name": "table", "value": value}]})


def test_an_order_reads_the_consumers_artifact_and_records_it(bob, data_service):
    artifact = upload(bob)
    response = order(bob, data_service, artifact["id"])
    assert response.status_code == 201, response.get_json()
    placed = response.get_json()
    assert [(i["parameter"], i["id"]) for i in placed["inputs"]] == [("table", artifact["id"])]
    assert placed["inputs"][0]["links"]["self"] == artifact["links"]["self"]
    assert placed["products"] == []


@pytest.mark.parametrize("whose", ["nobody's", "another account's"])
def test_an_artifact_the_consumer_cannot_read_is_a_422_naming_the_parameter(alice, bob, data_service, stored, whose):
    value = upload(alice)["id"] if whose == "another account's" else "urn:marketplace:artifact:0000"
    before = stored()
    response = order(bob, data_service, value)
    assert response.status_code == 422
    assert (response.get_json()["name"], response.get_json()["value"]) == ("table", value)
    assert stored() == before


def test_urls_and_other_urns_pass_unchanged(bob, data_service):
    for value in ("https://example.org/t.csv", "urn:ivcap:artifact:1"):
        response = order(bob, data_service, value)
        assert response.status_code == 201 and response.get_json()["inputs"] == []


def workload(app, order_id) -> ApiClient:
    return ApiClient(app.test_client(), issue_workload_token(TEST_SECRET, order_id, 600))


def test_the_orders_workload_uploads_products_its_consumer_alone_sees(app, alice, bob, data_service):
    placed = order(bob, data_service, upload(bob)["id"]).get_json()
    collector = workload(app, placed["id"])
    url = f"/1/orders/{placed['id']}/products"
    response = collector.post(url, query_string={"name": "out/summary.txt"}, data=b"2 rows\n",
                              headers={"Content-Type": "text/plain"})
    assert response.status_code == 201, response.get_json()
    product = response.get_json()
    assert (product["name"], product["size"], product["order-id"]) == ("out/summary.txt", 7, placed["id"])
    # Registering the same name again (a retried collector) finds the first.
    again = collector.post(url, query_string={"name": "out/summary.txt"}, data=b"other")
    assert again.get_json()["id"] == product["id"]

    seen = bob.get(f"/1/orders/{placed['id']}").get_json()
    assert [(p["id"], p["name"], p["mime-type"], p["size"]) for p in seen["products"]] == [
        (product["id"], "out/summary.txt", "text/plain", 7)]
    listed = bob.get(seen["links"]["products"]).get_json()
    assert [p["id"] for p in listed["products"]] == [product["id"]]
    assert bob.get(seen["products"][0]["links"]["data"]).data == b"2 rows\n"
    assert bob.get(product["links"]["self"]).get_json()["links"]["order"].endswith(placed["id"])

    # The provider sees the order, not its data; nobody else sees either.
    assert alice.get(f"/1/orders/{placed['id']}").get_json()["products"] == []
    assert alice.get(seen["links"]["products"]).status_code == 404
    for path in (product["links"]["self"], product["links"]["data"]):
        assert alice.get(path).status_code == 404
    assert alice.delete(product["links"]["self"]).status_code == 404


def test_a_workload_token_opens_only_its_orders_inputs_and_products(app, bob, data_service):
    mine, other = upload(bob, name="mine.csv"), upload(bob, name="other.csv")
    placed = order(bob, data_service, mine["id"]).get_json()
    second = order(bob, data_service, other["id"]).get_json()
    collector = workload(app, placed["id"])
    assert collector.get(f"/1/artifacts/{mine['id']}/blob").data == b"a,b\n1,2\n"
    assert collector.get(f"/1/artifacts/{other['id']}/blob").status_code == 404
    assert collector.get(f"/1/artifacts/{mine['id']}").status_code == 403  # no account's resources
    assert collector.get("/1/orders").status_code == 403
    assert collector.post(f"/1/orders/{second['id']}/products", query_string={"name": "x"},
                          data=b"1").status_code == 404
    # An account's token does not upload products, even the consumer's.
    assert bob.post(f"/1/orders/{placed['id']}/products", query_string={"name": "x"}, data=b"1").status_code == 403
    # A token signed with another secret is no token at all.
    forged_token = issue_workload_token("another-secret-long-enough-for-hs256", placed["id"], 60)
    forged = ApiClient(app.test_client(), forged_token)
    assert forged.get(f"/1/artifacts/{mine['id']}/blob").status_code == 401


@pytest.mark.parametrize("name", ["../escape", "/absolute", "a//b", "a/./b", ""])
def test_product_names_are_relative_paths(app, bob, data_service, name):
    placed = order(bob, data_service, upload(bob)["id"]).get_json()
    response = workload(app, placed["id"]).post(f"/1/orders/{placed['id']}/products", query_string={"name": name},
                                                data=b"1")
    assert response.status_code in (400, 422) and response.get_json()["name"] == "name"


def test_the_account_verifier_is_unchanged_for_ordinary_tokens(app):
    token = SharedSecretVerifier(TEST_SECRET).issue("carol", 60)
    assert ApiClient(app.test_client(), token).get("/1/artifacts").status_code == 200
