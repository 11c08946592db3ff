"""The errors the API answers with, as plain values: each knows its status code and renders the
one error body. No Flask here, so that any layer (the query layer included) can raise them;
app/errors.py holds the handlers that turn them, and every other failure, into responses.

The body follows the contract: ``message`` always; ``name`` and ``value`` name the offending
input (the ``InvalidParameterValue`` shape); ``id`` names the resource a 403/404/409 is about.
"""
from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

_UNSET = object()


class ApiError(Exception):
    """An error the API answers with: it knows its status code and renders itself."""

    status_code = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init_subclass__(cls, status: HTTPStatus | None = None, **kwargs):
        # A named error differs from another only by its status: it says so in its class line.
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status

    def __init__(self, message: str, *, name: str | None = None, value: Any = _UNSET,
                 id: str | None = None, status_code: int | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.name = name
        self.value = value
        self.id = id
        self.headers = headers or {}
        self.problems: list[dict[str, Any]] = []
        if status_code is not None:
            self.status_code = HTTPStatus(status_code)

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.id is not None:
            body["id"] = self.id
        if self.name is not None:
            body["name"] = self.name
        if self.value is not _UNSET:
            body["value"] = self.value
        if self.problems:
            body["errors"] = self.problems
        return body


class BadRequest(ApiError, status=HTTPStatus.BAD_REQUEST):
    """400: the request cannot be read as meant (an option, a header, the body's syntax)."""


class Unauthorized(ApiError, status=HTTPStatus.UNAUTHORIZED):
    """401: no bearer token, or one that is not valid."""


class Forbidden(ApiError, status=HTTPStatus.FORBIDDEN):
    """403: the resource belongs to another account."""


class NotFound(ApiError, status=HTTPStatus.NOT_FOUND):
    """404: no such resource, or none the caller may see (the same answer, so ids cannot be probed)."""


class Conflict(ApiError, status=HTTPStatus.CONFLICT):
    """409: the resource's state, or a concurrent change, does not allow it."""


class Gone(ApiError, status=HTTPStatus.GONE):
    """410: the record is kept, its content is not (removed at the end of its retention period)."""


class TooManyRequests(ApiError, status=HTTPStatus.TOO_MANY_REQUESTS):
    """429: the account holds as much as it may at once; Retry-After says when to try again."""


class InvalidParameterValue(ApiError, status=HTTPStatus.UNPROCESSABLE_ENTITY):
    """422: a value is present but wrong; ``name`` is the dotted path of the field."""


# --- webargs' and marshmallow's messages as that body -----------------------------------------

def _flatten_messages(messages: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """webargs/marshmallow nest messages by field ({"workflow": {"basic": {"image": [..]}}})."""
    if isinstance(messages, dict):
        found = []
        for key, nested in messages.items():
            found.extend(_flatten_messages(nested, path if key == "_schema" else (*path, key)))
        return found
    if isinstance(messages, (list, tuple)) and messages and all(isinstance(m, str) for m in messages):
        return [(path, " ".join(messages))]
    if isinstance(messages, (list, tuple)):
        return [item for nested in messages for item in _flatten_messages(nested, path)]
    return [(path, str(messages))]


def _value_at(document: Any, path: tuple) -> Any:
    for key in path:
        if isinstance(document, dict) and key in document:
            document = document[key]
        elif isinstance(document, list) and isinstance(key, int) and 0 <= key < len(document):
            document = document[key]
        else:
            return None
    return document


def validation_error(status_code: int, messages: dict, inputs: dict[str, Any]) -> ApiError:
    """Turn webargs' nested messages into our body: the first problem as name/value, all in errors."""
    problems = []
    for (location, *path), message in _flatten_messages(messages):
        if location == "json" and not path and message == "Invalid JSON body.":
            return BadRequest("the request body is not valid JSON")
        name = ".".join(str(part) for part in path) or ("body" if location == "json" else location)
        problems.append({"name": name, "message": message,
                         "value": _value_at(inputs.get(location), tuple(path))})
    if not problems:
        return ApiError("the request is not valid", status_code=status_code)
    first = problems[0]
    error = ApiError(f"{first['name']}: {first['message']}", name=first["name"],
                     value=first["value"], status_code=status_code)
    error.problems = problems
    return error


def error_document(status_code: int, message: str = "") -> bytes:
    """The body of an error that an HTTP server answers by itself, before any request reaches
    the application (a request line or headers too large, a malformed request)."""
    status = HTTPStatus(status_code)
    if status >= 500 or not message:
        message = "the server failed to handle this request" if status >= 500 else status.phrase
    return json.dumps(ApiError(message, status_code=status).to_body()).encode()
