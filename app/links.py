"""Absolute links to this server's resources and to the schemas that describe them."""
from __future__ import annotations

from flask import url_for

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"


def described_by(schema_name: str) -> dict[str, str]:
    """Where the JSON schema of a resource lives: a component of our own OpenAPI document."""
    spec_url = url_for("api-docs.openapi_json", _external=True)
    return {"href": f"{spec_url}#/components/schemas/{schema_name}", "type": OPENAPI_MEDIA_TYPE}


def resource_links(endpoint: str, schema_name: str, **values) -> dict:
    return {"self": url_for(endpoint, _external=True, **values), "describedBy": described_by(schema_name)}
