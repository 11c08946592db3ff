"""The orders API over HTTP: consumers order ready services, providers see their services' orders."""
from __future__ import annotations

import threading

import pytest

from app.orders.models import Order
from app.services.models import Service
from tests.factories import service_description


def order(client, service_id, parameters=({"name": "scene", "value": "S2A"},), headers=None, **extra):
    return client.post("/1/orders", json={"service-id": service_id, "parameters": list(parameters), **extra},
                       headers=headers or {})


def test_ordering_a_ready_service_answers_201_with_the_order(ready_service, bob):
    service = ready_service()
    response = order(bob, service["id"], name="field 12", tags=["june", "june", "f12"])
    assert response.status_code == 201, response.get_json()
    placed = response.get_json()
    assert placed["id"].startswith("urn:marketplace:order:")
    assert response.headers["Location"] == f"http://localhost/1/orders/{placed['id']}"
    assert placed["status"] == "pending"
    assert placed["name"] == "field 12"
    assert placed["tags"] == ["june", "f12"]
    assert placed["account"] == {"id": "bob"}
    assert placed["service"]["id"] == service["id"]
    assert placed["service"]["links"]["self"] == service["links"]["self"]
    assert placed["parameters"] == [{"name": "scene", "value": "S2A"}, {"name": "threshold", "value": "0.3"},
                                    {"name": "mode", "value": "fast"}]
    assert placed["ordered-at"] and "started-at" not in placed and "finished-at" not in placed
    assert placed["links"]["self"] == response.headers["Location"]
    assert placed["links"]["describedBy"]["href"].endswith("/openapi.json#/components/schemas/OrderRT")
    assert bob.get(f"/1/orders/{placed['id']}").get_json() == placed


def test_values_are_used_in_canonical_form(ready_service, bob):
    service = ready_service()
    placed = order(bob, service["id"], [{"name": "scene", "value": "S"}, {"name": "threshold", "value": 1},
                                        {"name": "mode", "value": "exact"}]).get_json()
    assert placed["parameters"][1:] == [{"name": "threshold", "value": "1.0"}, {"name": "mode", "value": "exact"}]


@pytest.mark.parametrize("parameters, name, value", [
    ([{"name": "scene", "value": "S"}, {"name": "colour", "value": "red"}], "colour", "red"),
    ([{"name": "threshold", "value": "0.5"}], "scene", None),
    ([{"name": "scene", "value": "S"}, {"name": "threshold", "value": "high"}], "threshold", "high"),
    ([{"name": "scene", "value": "S"}, {"name": "mode", "value": "slow"}], "mode", "slow"),
    ([{"name": "scene", "value": "S"}, {"name": "scene", "value": "T"}], "scene", "T"),
    ([{"name": "scene", "value": ["a"]}], "parameters.0.value", ["a"]),
])
def test_wrong_values_are_422_naming_the_parameter_and_value(ready_service, bob, parameters, name, value):
    service = ready_service()
    response = order(bob, service["id"], parameters)
    assert response.status_code == 422
    body = response.get_json()
    assert (body["name"], body["value"]) == (name, value)
    assert bob.get("/1/orders").get_json()["orders"] == []


def test_a_constant_parameter_keeps_its_value(ready_service, bob):
    params = [{"name": "scene", "type": "string"}, {"name": "version", "type": "string", "default": "v1",
                                                     "constant": True}]
    service = ready_service(parameters=params)
    response = order(bob, service["id"], [{"name": "scene", "value": "S"}, {"name": "version", "value": "v2"}])
    assert response.status_code == 422
    assert response.get_json()["name"] == "version"
    same = order(bob, service["id"], [{"name": "scene", "value": "S"}, {"name": "version", "value": "v1"}])
    assert same.status_code == 201


def test_a_service_that_is_not_ready_cannot_be_ordered(alice, bob):
    service = alice.post("/1/services", json=service_description()).get_json()
    response = order(bob, service["id"])
    assert response.status_code == 409
    assert response.get_json() == {"message": "the service is pending: only a ready service can be ordered",
                                   "id": service["id"]}


def test_an_unknown_service_is_422_naming_service_id(bob):
    response = order(bob, "urn:acme:service:none")
    assert response.status_code == 422
    assert (response.get_json()["name"], response.get_json()["value"]) == ("service-id", "urn:acme:service:none")


def test_missing_service_id_is_422(bob):
    response = bob.post("/1/orders", json={"parameters": []})
    assert response.status_code == 422
    assert response.get_json()["name"] == "service-id"


def test_nobody_reads_another_accounts_order(ready_service, bob, as_account):
    placed = order(bob, ready_service()["id"]).get_json()
    response = as_account("mallory").get(f"/1/orders/{placed['id']}")
    assert response.status_code == 404
    assert response.get_json() == {"message": "no order has this id", "id": placed["id"]}
    assert as_account("mallory").get("/1/orders/urn:marketplace:order:nope").get_json()["message"] == \
        "no order has this id"


def test_the_provider_reads_the_orders_of_its_service(ready_service, alice, bob):
    placed = order(bob, ready_service()["id"]).get_json()
    assert alice.get(f"/1/orders/{placed['id']}").status_code == 200


def test_order_lists_show_each_account_what_it_may_see(ready_service, alice, bob, as_account):
    service = ready_service()
    mine = order(bob, service["id"]).get_json()
    theirs = order(as_account("carol"), service["id"]).get_json()
    assert [o["id"] for o in bob.get("/1/orders").get_json()["orders"]] == [mine["id"]]
    assert alice.get("/1/orders").get_json()["orders"] == []
    provider_view = alice.get(f"/1/services/{service['id']}/orders").get_json()["orders"]
    assert {o["id"] for o in provider_view} == {mine["id"], theirs["id"]}
    consumer_view = bob.get(f"/1/services/{service['id']}/orders").get_json()["orders"]
    assert [o["id"] for o in consumer_view] == [mine["id"]]


def test_order_lists_page(ready_service, bob):
    service = ready_service()
    ids = [order(bob, service["id"]).get_json()["id"] for _ in range(3)]
    first = bob.get("/1/orders?limit=2").get_json()
    second = bob.get(first["links"]["next"]).get_json()
    assert sorted(o["id"] for o in first["orders"] + second["orders"]) == sorted(ids)
    assert "next" not in second["links"]


def test_an_idempotency_key_makes_a_retry_return_the_first_order(ready_service, bob, as_account):
    service = ready_service()
    first = order(bob, service["id"], headers={"Idempotency-Key": "k-1"})
    again = order(bob, service["id"], headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(bob.get("/1/orders").get_json()["orders"]) == 1
    other = order(as_account("carol"), service["id"], headers={"Idempotency-Key": "k-1"}).get_json()
    assert other["id"] != first.get_json()["id"]


def test_two_concurrent_posts_with_one_key_place_one_order(app, ready_service, bob):
    service = ready_service()
    barrier, answers = threading.Barrier(2), []

    def post():
        barrier.wait()
        answers.append(order(bob, service["id"], headers={"Idempotency-Key": "race"}))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].get_json()["id"] == answers[1].get_json()["id"]
    assert len(bob.get("/1/orders").get_json()["orders"]) == 1


def test_an_over_long_idempotency_key_is_400(ready_service, bob):
    response = order(bob, ready_service()["id"], headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert (response.get_json()["name"], response.get_json()["value"]) == ("Idempotency-Key", "k" * 256)


def test_an_order_keeps_the_workflow_it_was_placed_with(app, ready_service, alice, bob):
    service = ready_service()
    placed = order(bob, service["id"]).get_json()
    assert alice.put(f"/1/services/{service['id']}", json=service_description(
        workflow={"type": "basic", "basic": {"image": "ghcr.io/acme/ndvi:2.0"}})).status_code == 200
    session = app.extensions["database"].sessions()
    stored = session.get(Order, placed["id"])
    assert stored.workflow["basic"]["image"] == "ghcr.io/acme/ndvi:1.2"
    assert stored.service_version == 1
    session.close()


def test_a_dry_run_shows_the_compiled_job_and_stores_nothing(alice, bob):
    service = alice.post("/1/services", json=service_description()).get_json()  # pending is fine
    response = bob.post("/1/orders/dry-run", json={"service-id": service["id"],
                                                "parameters": [{"name": "scene", "value": "; rm -rf /"}]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is True and body["problems"] == []
    assert body["service"]["id"] == service["id"]
    assert body["parameters"][0] == {"name": "scene", "value": "; rm -rf /"}
    job = body["manifest"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python", "-m", "ndvi", "--scene", "; rm -rf /", "--threshold", "0.3", "--mode", "fast"]
    assert bob.get("/1/orders").get_json()["orders"] == []


def test_the_old_dry_run_query_is_refused_rather_than_placing_an_order(ready_service, bob, stored):
    service = ready_service()
    before = stored()
    response = bob.post("/1/orders?dry-run=true", json={"service-id": service["id"],
                                                        "parameters": [{"name": "scene", "value": "S2A"}]})
    assert response.status_code == 400
    assert response.get_json() == {"message": "dry-run: Unknown field.", "name": "dry-run", "value": "true",
                                   "errors": [{"name": "dry-run", "message": "Unknown field.", "value": "true"}]}
    assert stored() == before


def test_dry_run_is_a_route_of_its_own_not_an_order_id(bob):
    response = bob.get("/1/orders/dry-run")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}  # in no fixed order
    assert response.get_json()["message"]


def test_a_dry_run_of_the_readme_example_runs_as_a_non_root_user_and_is_valid(alice, bob):
    service = alice.post("/1/services", json=service_description(
        parameters=[{"name": "text", "type": "string", "label": "Text to count"}],
        workflow={"type": "basic", "basic": {
            "image": "python:3.11-slim",
            "command": ["python3", "-c", "import sys; print(len(sys.argv[2].split()))"]}})).get_json()
    body = bob.post("/1/orders/dry-run", json={"service-id": service["id"], "parameters": [
        {"name": "text", "value": "to be or not"}]}).get_json()
    assert body["valid"] is True and body["problems"] == []
    pod = body["manifest"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == pod["securityContext"]["runAsGroup"] == 10000
    assert pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False


def test_a_dry_run_checks_values_like_an_order(alice, bob):
    service = alice.post("/1/services", json=service_description()).get_json()
    response = bob.post("/1/orders/dry-run", json={"service-id": service["id"], "parameters": []})
    assert response.status_code == 422 and response.get_json()["name"] == "scene"


ARGO_SPEC = {"entrypoint": "main", "arguments": {"parameters": [{"name": "scene"}]},
             "templates": [{"name": "main", "container": {
                 "image": "alpine", "command": ["echo", "{{workflow.parameters.scene}}"]}}]}
ARGO_PARAMETERS = [{"name": "scene", "type": "string"}]


def test_a_dry_run_of_an_argo_service_shows_the_workflow_with_the_values_as_arguments(alice, bob):
    service = alice.post("/1/services", json=service_description(
        workflow={"type": "argo", "argo": {"spec": ARGO_SPEC}}, parameters=ARGO_PARAMETERS)).get_json()
    body = bob.post("/1/orders/dry-run", json={"service-id": service["id"], "parameters": [
        {"name": "scene", "value": "; rm -rf /"}]}).get_json()
    assert body["valid"] is True and body["problems"] == []
    workflow = body["manifest"]
    assert (workflow["apiVersion"], workflow["kind"]) == ("argoproj.io/v1alpha1", "Workflow")
    assert workflow["spec"]["arguments"]["parameters"] == [{"name": "scene", "value": "; rm -rf /"}]
    assert workflow["spec"]["templates"] == ARGO_SPEC["templates"]


def test_a_dry_run_of_a_broken_argo_definition_names_the_problem(alice, bob):
    service = alice.post("/1/services", json=service_description(
        workflow={"type": "argo", "argo": {"spec": {**ARGO_SPEC, "argumnts": {}}}},
        parameters=ARGO_PARAMETERS)).get_json()
    body = bob.post("/1/orders/dry-run", json={"service-id": service["id"], "parameters": [
        {"name": "scene", "value": "x"}]}).get_json()
    assert body["valid"] is False and body["manifest"]["kind"] == "Workflow"
    assert [(p["name"], p["message"]) for p in body["problems"]] == [("spec.argumnts", "unknown field")]


def test_an_argo_order_value_that_argo_would_expand_is_refused(alice, bob):
    service = alice.post("/1/services", json=service_description(
        workflow={"type": "argo", "argo": {"spec": ARGO_SPEC}}, parameters=ARGO_PARAMETERS)).get_json()
    response = bob.post("/1/orders/dry-run", json={"service-id": service["id"], "parameters": [
        {"name": "scene", "value": "{{workflow.serviceAccountName}}"}]})
    assert response.status_code == 422
    assert response.get_json()["name"] == "scene"
    assert response.get_json()["value"] == "{{workflow.serviceAccountName}}"


def test_order_lists_take_the_odata_options(ready_service, bob, as_account, alice):
    service = ready_service()
    first = order(bob, service["id"], name="first", tags=["a"]).get_json()
    second = order(bob, service["id"], name="second").get_json()
    order(as_account("carol"), service["id"], name="carols")
    listed = bob.get("/1/orders", query_string={"$filter": "tags/any(t: t eq 'a')"}).get_json()["orders"]
    assert [o["id"] for o in listed] == [first["id"]]
    ordered = bob.get("/1/orders", query_string={"$orderby": "name desc", "$select": "name"}).get_json()
    assert [(o["name"], set(o)) for o in ordered["orders"]] == [("second", {"id", "name", "links"}),
                                                                ("first", {"id", "name", "links"})]
    assert bob.get("/1/orders", query_string={"$filter": "account eq 'carol'"}).get_json()["orders"] == []
    provider = alice.get(f"/1/services/{service['id']}/orders",
                         query_string={"$filter": "account eq 'carol'"}).get_json()["orders"]
    assert [o["name"] for o in provider] == ["carols"]
    assert second["id"] not in [o["id"] for o in listed]


def test_a_service_id_published_again_by_another_account_shows_none_of_the_earlier_orders(
        app, alice, bob, as_account):
    service_id = "urn:acme:service:wc"
    assert alice.put(f"/1/services/{service_id}?force-create=true", json=service_description()).status_code == 201
    session = app.extensions["database"].sessions()
    with session.begin():
        session.get(Service, service_id).status = "ready"
    session.close()
    earlier = order(bob, service_id, name="bob's").get_json()
    assert alice.delete(f"/1/services/{service_id}").status_code == 204

    carol = as_account("carol")
    assert carol.put(f"/1/services/{service_id}?force-create=true", json=service_description()).status_code == 201
    assert carol.get(f"/1/services/{service_id}/orders").get_json()["orders"] == []
    assert carol.get(f"/1/orders/{earlier['id']}").status_code == 404
    assert bob.get(f"/1/services/{service_id}/orders").get_json()["orders"] == []
    # The order itself stays with the accounts it belonged to.
    assert bob.get(f"/1/orders/{earlier['id']}").status_code == 200
    assert alice.get(f"/1/orders/{earlier['id']}").status_code == 200


def test_an_idempotency_key_reused_with_another_request_is_422(ready_service, bob, stored):
    service = ready_service()
    first = order(bob, service["id"], headers={"Idempotency-Key": "k-2"})
    before = stored()
    other = order(bob, service["id"], [{"name": "scene", "value": "another"}], headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 422
    assert (other.get_json()["name"], other.get_json()["value"]) == ("Idempotency-Key", "k-2")
    assert "another request" in other.get_json()["message"]
    assert stored() == before
    assert order(bob, service["id"], headers={"Idempotency-Key": "k-2"}).get_json() == first.get_json()


@pytest.fixture
def account_limits(app):
    import dataclasses

    from app.config import AccountLimits

    def set_limits(**limits):
        config = app.config["MARKETPLACE"]
        app.config["MARKETPLACE"] = dataclasses.replace(config, accounts=AccountLimits(**limits))
    return set_limits


def test_an_account_may_have_only_so_many_orders_waiting_or_running(ready_service, bob, account_limits):
    account_limits(active_orders=2)
    service = ready_service()
    first, _second = (order(bob, service["id"]).get_json() for _ in range(2))
    refused = order(bob, service["id"])
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "2 orders waiting or running" in refused.get_json()["message"]
    assert len(bob.get("/1/orders").get_json()["orders"]) == 2
    assert bob.post(f"/1/orders/{first['id']}/cancel").status_code == 202
    assert order(bob, service["id"]).status_code == 201


def test_a_provider_may_publish_only_so_many_services(alice, account_limits):
    account_limits(services=2)
    published = [alice.post("/1/services", json=service_description()).get_json() for _ in range(2)]
    for response in (alice.post("/1/services", json=service_description()),
                     alice.put("/1/services/urn:acme:service:third?force-create=true", json=service_description())):
        assert response.status_code == 403
        assert response.get_json()["message"].startswith("this account has published 2 services, the most it may")
    assert alice.put(f"/1/services/{published[0]['id']}", json=service_description(name="v2")).status_code == 200
    assert alice.delete(f"/1/services/{published[0]['id']}").status_code == 204
    assert alice.post("/1/services", json=service_description()).status_code == 201
