"""Absolute links to this server's resources and to the schemas that describe them.

A list page renders hundreds of links: each endpoint's URL is built once per request with
`url_for` around a placeholder, then filled with each id, quoted as the URL converter does."""
from __future__ import annotations

from flask import current_app, g, url_for

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
_PLACEHOLDER = "__marketplace_id__"


def _template(endpoint: str, parameter: str) -> tuple[str, str]:
    cache = g.setdefault("link_templates", {})
    key = (endpoint, parameter)
    if key not in cache:
        url = url_for(endpoint, _external=True, **{parameter: _PLACEHOLDER})
        cache[key] = tuple(url.split(_PLACEHOLDER, 1))
    return cache[key]


def resource_url(endpoint: str, parameter: str, value: str) -> str:
    before, after = _template(endpoint, parameter)
    return f"{before}{current_app.url_map.converters['default'](current_app.url_map).to_url(value)}{after}"


def described_by(schema_name: str) -> dict[str, str]:
    """Where the JSON schema of a resource lives: a component of our own OpenAPI document."""
    spec_url = g.get("openapi_url") or g.setdefault("openapi_url", url_for("api-docs.openapi_json", _external=True))
    return {"href": f"{spec_url}#/components/schemas/{schema_name}", "type": OPENAPI_MEDIA_TYPE}


def resource_links(endpoint: str, schema_name: str, **values) -> dict:
    ((parameter, value),) = values.items()
    return {"self": resource_url(endpoint, parameter, value), "describedBy": described_by(schema_name)}
