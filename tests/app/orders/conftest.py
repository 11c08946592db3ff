"""Fixtures of the orders' tests."""
from __future__ import annotations

import pytest

from tests.factories import service_description

PRINT_ARGS = "import sys; print(' '.join(sys.argv[1:]))"


@pytest.fixture
def ordered(alice, bob, worker):
    """Alice publishes a service that prints its text; returns a function that has bob order it."""
    workflow = {"type": "basic", "basic": {"image": "python:3.11-slim", "command": ["python3", "-c", PRINT_ARGS]}}
    service = alice.post("/1/services", json=service_description(
        workflow=workflow, parameters=[{"name": "text", "type": "string"}])).get_json()
    worker.run_once()

    def order(text: str = "hello") -> str:
        response = bob.post("/1/orders", json={"service-id": service["id"],
                                               "parameters": [{"name": "text", "value": text}]})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]
    return order
