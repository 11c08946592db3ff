"""The committed OpenAPI document is the generated one, valid OpenAPI 3, served with offline docs."""
from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import ValidationError
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import validate

from app.cli import DEFAULT_SPEC_PATH, generate_spec, render_spec

COMMITTED = Path(__file__).parents[2] / DEFAULT_SPEC_PATH


def test_committed_spec_matches_the_generated_one():
    generated = render_spec(generate_spec())
    assert COMMITTED.read_text() == generated, (
        "openapi/openapi.json is stale: run `make openapi` (marketplace openapi write) and commit it")


def test_spec_is_valid_openapi_3():
    validate(json.loads(COMMITTED.read_text()))


def test_served_spec_is_the_committed_one(as_account):
    served = as_account(None).get("/openapi.json").get_json()
    assert served == json.loads(COMMITTED.read_text())


def test_docs_render_from_packaged_assets_without_network(as_account):
    client = as_account(None)
    page = client.get("/docs").get_data(as_text=True)
    assert "https://" not in page and "http://" not in page
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/docs/assets/{asset}" in page
        response = client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.data) > 1000
        response.close()


# --- operation ids and examples -------------------------------------------------------------

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def operations(spec: dict):
    """(method, path, operation) of every operation of the document."""
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def test_every_operation_has_a_unique_readable_operation_id():
    spec = json.loads(COMMITTED.read_text())
    ids = [operation.get("operationId") for _, _, operation in operations(spec)]
    assert all(ids), [f"{method} {path}" for method, path, op in operations(spec) if not op.get("operationId")]
    assert len(ids) == len(set(ids)), sorted(ids)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", id_) for id_ in ids), ids  # lowerCamelCase words


def test_every_json_body_and_response_has_an_example():
    spec = json.loads(COMMITTED.read_text())
    missing = []
    for method, path, operation in operations(spec):
        bodies = [("request", operation.get("requestBody", {}))]
        bodies += [(code, response) for code, response in operation["responses"].items() if code.startswith("2")]
        for where, body in bodies:
            json_body = body.get("content", {}).get("application/json")
            if json_body is not None and "example" not in json_body:
                missing.append(f"{method.upper()} {path} {where}")
    assert not missing


def test_response_examples_match_their_schemas():
    spec = json.loads(COMMITTED.read_text())
    for method, path, operation in operations(spec):
        for code, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json", {})
            if "example" in content:
                schema = {"components": spec["components"], "allOf": [content["schema"]]}
                try:
                    validate_instance(content["example"], schema, cls=OAS30Validator)
                except ValidationError as error:
                    raise AssertionError(f"{method.upper()} {path} {code}: {error.message}") from None


def test_every_request_example_is_accepted_as_it_stands(app, alice):
    """Sent to the app in the order a user would: the services first (the update example
    creates the example's service with force-create), then the service made ready, then orders."""
    from app import examples
    from app.services.models import Service

    spec = json.loads(COMMITTED.read_text())
    path_values = {"service_id": examples.SERVICE_ID}
    with_examples = [(method, path, op) for method, path, op in operations(spec)
                     if "example" in op.get("requestBody", {}).get("content", {}).get("application/json", {})]
    assert {op["operationId"] for _, _, op in with_examples} >= {"createService", "updateService", "createOrder",
                                                                  "dryRunOrder"}
    with_examples.sort(key=lambda entry: (not entry[1].startswith("/1/services"),
                                          entry[2]["operationId"] != "updateService"))
    made_ready = False
    for method, path, operation in with_examples:
        if not path.startswith("/1/services") and not made_ready:
            session = app.extensions["database"].sessions()
            with session.begin():
                session.get(Service, examples.SERVICE_ID).status = "ready"
            session.close()
            made_ready = True
        url = path.format(**path_values) + ("?force-create=true" if operation["operationId"] == "updateService" else "")
        example = operation["requestBody"]["content"]["application/json"]["example"]
        response = alice.request(method.upper(), url, json=example)
        assert 200 <= response.status_code < 300, (operation["operationId"], response.get_json())
