"""Checks every /1/ request passes before any view: a body we can read, and no NUL characters
(no database text column can hold one; PostgreSQL refuses them outright)."""
from __future__ import annotations

from typing import Any

from flask import request

from app.errors import ApiError, BadRequest, InvalidParameterValue

API_PREFIX = "/1/"
JSON_BODY_METHODS = ("POST", "PUT", "PATCH")
NUL = "\x00"
CHECKED_HEADERS = ("Idempotency-Key",)


def _first_nul(document: Any, path: tuple = ()) -> tuple[tuple, str] | None:
    """The path and value of the first string (or key) holding a NUL."""
    if isinstance(document, str):
        return (path, document) if NUL in document else None
    if isinstance(document, dict):
        items = document.items()
    elif isinstance(document, list):
        items = enumerate(document)
    else:
        return None
    for key, value in items:
        if isinstance(key, str) and NUL in key:
            return (*path, key), key
        if (found := _first_nul(value, (*path, key))) is not None:
            return found
    return None


def require_json_body() -> None:
    """A body we cannot read as JSON is a 415, not a misleading 'field missing' 422."""
    if (request.method in JSON_BODY_METHODS and request.content_length != 0 and not request.is_json
            and (request.content_length or request.headers.get("Transfer-Encoding"))):
        raise ApiError("send the body as JSON with Content-Type: application/json", status_code=415)


def reject_nul_characters() -> None:
    message = "NUL characters are not allowed"
    if NUL in request.path:
        raise BadRequest(message, name="path", value=request.path)
    for key, value in request.args.items(multi=True):
        if NUL in key or NUL in value:
            raise BadRequest(message, name=key, value=value)
    for header in CHECKED_HEADERS:
        if NUL in request.headers.get(header, ""):
            raise BadRequest(message, name=header, value=request.headers[header])
    if request.is_json and (body := request.get_json(silent=True)) is not None:
        if (found := _first_nul(body)) is not None:
            path, value = found
            name = ".".join(str(part) for part in path) or "body"
            raise InvalidParameterValue(f"{name}: {message}", name=name, value=value)


def guard_api_request() -> None:
    if request.path.startswith(API_PREFIX):
        require_json_body()
        reject_nul_characters()
