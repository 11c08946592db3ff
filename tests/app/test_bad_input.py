"""Bad input gets its documented status and error body, and changes nothing stored."""
from __future__ import annotations

import pytest

from tests.factories import service_description


def without(document: dict, key: str) -> dict:
    return {k: v for k, v in document.items() if k != key}


@pytest.fixture
def count(alice):
    return lambda: len(alice.get("/1/services?limit=1000").get_json()["services"])


def test_malformed_json_is_400(alice, count):
    response = alice.post("/1/services", data=b'{"name": ', content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"message": "the request body is not valid JSON"}
    assert count() == 0


def test_a_body_that_is_not_json_is_415(alice):
    response = alice.post("/1/services", data="name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/json" in response.get_json()["message"]


@pytest.mark.parametrize("document, name, value", [
    (without(service_description(), "description"), "description", None),
    (without(service_description(), "provider-id"), "provider-id", None),
    (without(service_description(), "account-id"), "account-id", None),
    (without(service_description(), "parameters"), "parameters", None),
    (without(service_description(), "workflow"), "workflow", None),
    (service_description(description=5), "description", 5),
    (service_description(tags="ag"), "tags", "ag"),
    (service_description(parameters=[{"name": "x", "type": "string", "optional": "maybe"}]),
     "parameters.0.optional", "maybe"),
    (service_description(workflow={"type": "lambda"}), "workflow.type", "lambda"),
    (service_description(workflow={"type": "basic", "basic": {"command": ["run"]}}), "workflow.basic.image", None),
    (service_description(workflow={"type": "basic"}), "workflow.basic", None),
    (service_description(workflow={"type": "argo"}), "workflow.argo", None),
    (service_description(workflow={"type": "argo", "argo": 42}), "workflow.argo", 42),
    (service_description(workflow={"type": "basic", "basic": {"image": "x", "gpu": 1}}), "workflow.basic.gpu", 1),
    (service_description(name="n" * 256), "name", "n" * 256),
    (service_description(tags=["t" * 129]), "tags.0", "t" * 129),
    (service_description(references=[{"uri": "not a url"}]), "references.0.uri", "not a url"),
    (service_description(unexpected=True), "unexpected", True),
])
def test_wrong_or_missing_values_are_422_naming_the_field(alice, count, document, name, value):
    response = alice.post("/1/services", json=document)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["name"] == name
    assert body["value"] == value
    assert body["message"].startswith(f"{name}: ")
    assert body["errors"][0] == {"name": name, "message": body["message"][len(name) + 2:], "value": value}
    assert count() == 0


def test_a_body_that_is_not_an_object_is_422(alice):
    response = alice.post("/1/services", json=["not", "an", "object"])
    assert response.status_code == 422
    assert response.get_json()["name"] == "body"


def test_every_problem_is_listed(alice):
    response = alice.post("/1/services", json={"description": 1})
    names = {problem["name"] for problem in response.get_json()["errors"]}
    assert {"description", "provider-id", "account-id", "parameters", "workflow"} <= names


def test_unknown_query_option_is_400(alice):
    response = alice.get("/1/services?limt=5")
    assert response.status_code == 400
    assert response.get_json()["name"] == "limt"


def test_unknown_route_and_wrong_method_answer_json(alice):
    response = alice.get("/1/nothing-here")
    assert response.status_code == 404
    assert "message" in response.get_json()
    response = alice.request("PATCH", "/1/services")
    assert response.status_code == 405
    assert "message" in response.get_json()


@pytest.mark.parametrize("request_args, status, name", [
    ({"method": "POST", "path": "/1/services", "json": service_description(name="a\x00b")}, 422, "name"),
    ({"method": "POST", "path": "/1/services",
      "json": service_description(tags=["ok", "b\x00d"])}, 422, "tags.1"),
    ({"method": "GET", "path": "/1/services", "query_string": {"limit": "1\x00"}}, 400, "limit"),
    ({"method": "GET", "path": "/1/services/a%00b"}, 400, "path"),
    ({"method": "POST", "path": "/1/orders", "json": {"service-id": "s"},
      "headers": {"Idempotency-Key": "k\x00"}}, 400, "Idempotency-Key"),
])
def test_nul_characters_are_refused_wherever_they_come(alice, count, request_args, status, name):
    request_args = dict(request_args)
    method, path = request_args.pop("method"), request_args.pop("path")
    response = alice.request(method, path, **request_args)
    assert response.status_code == status
    assert response.get_json()["name"] == name
    assert "NUL" in response.get_json()["message"]
    assert count() == 0
