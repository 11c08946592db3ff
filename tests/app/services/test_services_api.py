"""The services API, called over HTTP as providers and consumers would (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from tests.factories import basic_workflow, service_description


def publish(client, **overrides):
    response = client.post("/1/services", json=service_description(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- the happy path ---------------------------------------------------------------------------

def test_list_is_empty_at_first(alice):
    response = alice.get("/1/services")
    assert response.status_code == 200
    body = response.get_json()
    assert body["services"] == []
    assert body["links"]["self"] == "http://localhost/1/services"
    assert body["links"]["first"].startswith("http://localhost/1/services")
    assert "next" not in body["links"]


def test_publish_answers_201_with_the_service_and_its_location(alice):
    response = alice.post("/1/services", json=service_description())
    assert response.status_code == 201
    service = response.get_json()
    assert service["id"].startswith("urn:marketplace:service:")
    assert response.headers["Location"] == f"http://localhost/1/services/{service['id']}"
    assert service["status"] == "pending"
    assert service["name"] == "NDVI"
    assert service["provider"] == {"id": "urn:acme:provider:geo"}
    assert service["account"] == {"id": "urn:acme:account:geo"}
    assert service["provider-ref"] == "geo/ndvi v1.2"
    assert service["owner"] == "alice"
    assert service["tags"] == ["ag", "ndvi"]
    assert service["metadata"] == [{"name": "domain", "value": "agriculture"}]
    assert service["references"] == [{"title": "Method", "uri": "https://example.org/ndvi"}]
    assert [p["name"] for p in service["parameters"]] == ["scene", "threshold", "mode"]
    assert service["parameters"][2]["options"] == [{"value": "fast", "description": "quick"}, {"value": "exact"}]
    assert service["workflow"]["basic"]["cpu"] == {"request": "250m", "limit": "1"}
    assert service["links"]["self"] == response.headers["Location"]
    assert service["links"]["describedBy"] == {
        "href": "http://localhost/openapi.json#/components/schemas/ServiceStatusRT",
        "type": "application/vnd.oai.openapi+json;version=3.0"}


def test_described_by_points_at_a_schema_of_the_served_spec(alice):
    service = publish(alice)
    spec = alice.get("/openapi.json").get_json()
    fragment = service["links"]["describedBy"]["href"].split("#/")[1].split("/")
    assert spec[fragment[0]][fragment[1]][fragment[2]]["properties"]["provider-ref"]


def test_read_gives_back_what_was_published_to_anyone_authenticated(alice, bob):
    service = publish(alice)
    response = bob.get(f"/1/services/{service['id']}")
    assert response.status_code == 200
    assert response.get_json() == service


def test_list_shows_contract_items_and_pages(alice):
    for name in ["c", "a", "b"]:
        publish(alice, name=name)
    first = alice.get("/1/services?limit=2").get_json()
    assert [s["name"] for s in first["services"]] == ["a", "b"]
    item = first["services"][0]
    assert set(item) == {"id", "name", "description", "provider", "links"}
    assert item["links"]["self"] == f"http://localhost/1/services/{item['id']}"
    second = alice.get(first["links"]["next"]).get_json()
    assert [s["name"] for s in second["services"]] == ["c"]
    assert "next" not in second["links"]


def test_opts_is_accepted_as_the_deprecated_alias_of_basic(alice):
    workflow = basic_workflow()
    service = publish(alice, workflow={"type": "basic", "opts": workflow["basic"]})
    assert service["workflow"] == workflow


def test_an_argo_workflow_may_be_given_as_text(alice):
    text = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  entrypoint: main\n"
    service = publish(alice, workflow={"type": "argo", "argo": text})
    assert service["workflow"] == {"type": "argo", "argo": text}


def test_duplicate_tags_are_kept_once(alice):
    assert publish(alice, tags=["a", "b", "a"])["tags"] == ["a", "b"]


# --- update -----------------------------------------------------------------------------------

def test_owner_updates_a_service_and_it_goes_back_to_pending(alice):
    service = publish(alice)
    response = alice.put(f"/1/services/{service['id']}", json=service_description(name="NDVI 2", tags=["x"]))
    assert response.status_code == 200
    updated = response.get_json()
    assert (updated["id"], updated["name"], updated["tags"], updated["status"]) == (
        service["id"], "NDVI 2", ["x"], "pending")
    assert updated["created-at"] == service["created-at"]
    assert alice.get(f"/1/services/{service['id']}").get_json() == updated


def test_update_of_an_unknown_service_is_404_without_force_create(alice):
    response = alice.put("/1/services/urn:acme:service:nope", json=service_description())
    assert response.status_code == 404
    assert response.get_json()["id"] == "urn:acme:service:nope"
    assert alice.get("/1/services/urn:acme:service:nope").status_code == 404


@pytest.mark.parametrize("service_id", ["urn:acme:service:ndvi", "ndvi-v1.2_beta", "urn:x:service:a:b:c"])
def test_force_create_registers_a_service_under_the_providers_id(alice, service_id):
    response = alice.put(f"/1/services/{service_id}?force-create=true", json=service_description())
    assert response.status_code == 201
    assert response.headers["Location"] == f"http://localhost/1/services/{service_id}"
    assert response.get_json()["id"] == service_id
    again = alice.put(f"/1/services/{service_id}?force-create=true", json=service_description(name="v2"))
    assert again.status_code == 200
    assert again.get_json()["name"] == "v2"


@pytest.mark.parametrize("service_id", ["-starts-with-dash", "has space", "urn:", "x" * 256, "a*b",
                                        "urn:bad_nid:thing"])
def test_force_create_rejects_a_malformed_id(alice, service_id):
    response = alice.put(f"/1/services/{service_id}?force-create=true", json=service_description())
    assert response.status_code == 422
    body = response.get_json()
    assert (body["name"], body["value"]) == ("id", service_id)
    assert "URN" in body["message"]


def test_only_the_owner_may_update_and_a_refused_update_changes_nothing(alice, bob):
    service = publish(alice)
    response = bob.put(f"/1/services/{service['id']}?force-create=true", json=service_description(name="mine"))
    assert response.status_code == 403
    assert response.get_json() == {"message": "this service belongs to another account", "id": service["id"]}
    assert alice.get(f"/1/services/{service['id']}").get_json() == service


def test_an_invalid_update_changes_nothing(alice):
    service = publish(alice)
    bad = service_description(workflow={"type": "basic", "basic": {"command": ["x"]}})
    assert alice.put(f"/1/services/{service['id']}", json=bad).status_code == 422
    assert alice.get(f"/1/services/{service['id']}").get_json() == service


# --- delete -----------------------------------------------------------------------------------

def test_owner_deletes_a_service(alice):
    service = publish(alice)
    response = alice.delete(f"/1/services/{service['id']}")
    assert response.status_code == 204
    assert response.data == b""
    assert alice.get(f"/1/services/{service['id']}").status_code == 404


def test_only_the_owner_may_delete(alice, bob):
    service = publish(alice)
    response = bob.delete(f"/1/services/{service['id']}")
    assert response.status_code == 403
    assert response.get_json()["id"] == service["id"]
    assert alice.get(f"/1/services/{service['id']}").status_code == 200


def test_delete_of_an_unknown_service_is_404(alice):
    response = alice.delete("/1/services/urn:acme:service:gone")
    assert response.status_code == 404
    assert response.get_json() == {"message": "no service has this id", "id": "urn:acme:service:gone"}


# --- the orders of a service ------------------------------------------------------------------

def test_orders_of_a_service_list_is_empty_until_orders_exist(alice):
    service = publish(alice)
    body = alice.get(f"/1/services/{service['id']}/orders").get_json()
    assert body["orders"] == []
    assert body["links"]["self"] == f"http://localhost/1/services/{service['id']}/orders"


def test_orders_of_an_unknown_service_is_404(alice):
    assert alice.get("/1/services/nope/orders").status_code == 404


# --- authentication ---------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic YTpi"},
                                     {"Authorization": "Bearer not-a-jwt"}])
def test_every_endpoint_needs_a_valid_bearer_token(as_account, headers):
    anonymous = as_account(None)
    for method, path in [("GET", "/1/services"), ("POST", "/1/services"), ("GET", "/1/services/x"),
                         ("PUT", "/1/services/x"), ("DELETE", "/1/services/x"), ("GET", "/1/services/x/orders")]:
        response = anonymous.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (method, path)
        assert "bearer token" in response.get_json()["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_signed_with_another_secret_is_refused(app):
    from app.auth import SharedSecretVerifier
    from tests.conftest import ApiClient

    forged = SharedSecretVerifier("some-other-secret-of-sufficient-length!!").issue("alice", 3600)
    response = ApiClient(app.test_client(), forged).get("/1/services")
    assert response.status_code == 401
    assert "Signature verification failed" in response.get_json()["message"]


def test_an_expired_token_is_refused(app):
    from app.auth import SharedSecretVerifier
    from tests.conftest import TEST_SECRET, ApiClient

    expired = SharedSecretVerifier(TEST_SECRET).issue("alice", -10)
    response = ApiClient(app.test_client(), expired).get("/1/services")
    assert response.status_code == 401
    assert "expired" in response.get_json()["message"]


def test_docs_and_spec_need_no_token(as_account):
    anonymous = as_account(None)
    assert anonymous.get("/openapi.json").status_code == 200
    assert anonymous.get("/docs").status_code == 200


# --- races and limits -------------------------------------------------------------------------

def test_concurrent_force_creates_of_one_id_answer_one_201_and_200s(alice):
    import threading

    callers, barrier, statuses = 50, threading.Barrier(50), []

    def put():
        barrier.wait()
        response = alice.put("/1/services/urn:acme:service:race?force-create=true", json=service_description())
        statuses.append(response.status_code)

    threads = [threading.Thread(target=put) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * (callers - 1) + [201]
    assert alice.get("/1/services/urn:acme:service:race").get_json()["tags"] == ["ag", "ndvi"]


def test_an_empty_banner_means_none(alice):
    service = publish(alice, banner="")
    assert "banner" not in service
    assert publish(alice, banner="https://example.org/b.png")["banner"] == "https://example.org/b.png"
