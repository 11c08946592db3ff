"""Test data builders: a valid document, with what a test cares about overridden."""
from __future__ import annotations

import copy
from typing import Any


def basic_workflow(**overrides: Any) -> dict:
    basic = {"image": "ghcr.io/acme/ndvi:1.2", "command": ["python", "-m", "ndvi"],
             "cpu": {"request": "250m", "limit": "1"}, "memory": {"request": "128Mi", "limit": "512Mi"}}
    basic.update(overrides)
    return {"type": "basic", "basic": basic}


def service_description(**overrides: Any) -> dict:
    description = {
        "name": "NDVI",
        "description": "Vegetation index from Sentinel-2 scenes",
        "provider-id": "urn:acme:provider:geo",
        "provider-ref": "geo/ndvi v1.2",
        "account-id": "urn:acme:account:geo",
        "tags": ["ag", "ndvi"],
        "metadata": [{"name": "domain", "value": "agriculture"}],
        "references": [{"title": "Method", "uri": "https://example.org/ndvi"}],
        "parameters": [
            {"name": "scene", "label": "Scene", "type": "string", "description": "Scene id"},
            {"name": "threshold", "type": "float", "default": "0.3", "unit": "ratio", "optional": True},
            {"name": "mode", "type": "option", "default": "fast",
             "options": [{"value": "fast", "description": "quick"}, {"value": "exact"}]},
        ],
        "workflow": basic_workflow(),
    }
    description.update(copy.deepcopy(overrides))
    return description
