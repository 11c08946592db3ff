"""Absolute links to this server's resources and to the schemas that describe them.

A list page renders hundreds of links: each endpoint's URL is built once per request with
`url_for` around a placeholder, then filled with each id, quoted as the URL converter does; the
templates, the converter and the document's address are kept for the request in `g`."""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, url_for

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
_PLACEHOLDER = "__marketplace_id__"


def _cache() -> dict:
    cache = g.get("link_cache")
    if cache is None:
        cache = g.link_cache = {}
    return cache


def _template(endpoint: str, parameter: str) -> tuple[str, str, Callable[[str], str]]:
    before, after = url_for(endpoint, _external=True, **{parameter: _PLACEHOLDER}).split(_PLACEHOLDER, 1)
    return before, after, current_app.url_map.converters["default"](current_app.url_map).to_url


def resource_url(endpoint: str, parameter: str, value: str) -> str:
    cache = _cache()
    template = cache.get((endpoint, parameter))
    if template is None:
        template = cache[endpoint, parameter] = _template(endpoint, parameter)
    before, after, to_url = template
    return f"{before}{to_url(value)}{after}"


def described_by(schema_name: str) -> dict[str, str]:
    """Where the JSON schema of a resource lives: a component of our own OpenAPI document."""
    cache = _cache()
    href = cache.get(schema_name)
    if href is None:
        spec_url = url_for("api-docs.openapi_json", _external=True)
        href = cache[schema_name] = f"{spec_url}#/components/schemas/{schema_name}"
    return {"href": href, "type": OPENAPI_MEDIA_TYPE}


def resource_links(endpoint: str, schema_name: str, **values) -> dict:
    ((parameter, value),) = values.items()
    return {"self": resource_url(endpoint, parameter, value), "describedBy": described_by(schema_name)}
