"""Property-based: every operation, authenticated, against the live app and its own spec.
No server error, and every response conforms to the documented status codes and schemas."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.auth import SharedSecretVerifier
from tests.conftest import TEST_SECRET


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_spec(case):
    token = SharedSecretVerifier(TEST_SECRET).issue("schemathesis", 3600)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
