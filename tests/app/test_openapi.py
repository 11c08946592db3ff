"""The committed OpenAPI document is the generated one, valid OpenAPI 3, served with offline docs."""
from __future__ import annotations

import json
from pathlib import Path

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
