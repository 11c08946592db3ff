"""Absolute links to this server's resources and to the schemas that describe them.

A list page renders hundreds of links: each endpoint's URL is built once per request with
`url_for` around a placeholder, then filled with each id, quoted as the URL converter does; the
templates, the converter and the document's address are kept for the request in `g`."""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, g, url_for

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
_PLACEHOLDER = "__marketplace_id__"


def _cached(key: Hashable, make: Callable[[], Any]) -> Any:
    cache = g.get("link_cache")
    if cache is None:
        cache = g.link_cache = {}
    value = cache.get(key)
    if value is None:
        value = cache[key] = make()
    return value


def _make_template(endpoint: str, parameter: str) -> tuple[str, str, Callable[[str], str]]:
    before, after = url_for(endpoint, _external=True, **{parameter: _PLACEHOLDER}).split(_PLACEHOLDER, 1)
    return before, after, current_app.url_map.converters["default"](current_app.url_map).to_url


def resource_url(endpoint: str, parameter: str, value: str) -> str:
    before, after, to_url = _cached((endpoint, parameter), lambda: _make_template(endpoint, parameter))
    return f"{before}{to_url(value)}{after}"


def described_by(schema_name: str) -> dict[str, str]:
    """Where the JSON schema of a resource lives: a component of our own OpenAPI document."""
    href = _cached(schema_name, lambda: f"{url_for('api-docs.openapi_json', _external=True)}"
                                        f"#/components/schemas/{schema_name}")
    return {"href": href, "type": OPENAPI_MEDIA_TYPE}


def resource_links(endpoint: str, schema_name: str, **values) -> dict:
    ((parameter, value),) = values.items()
    return {"self": resource_url(endpoint, parameter, value), "describedBy": described_by(schema_name)}
