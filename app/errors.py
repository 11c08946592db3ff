"""One error body for every failure, and the exception type that carries it.

The body follows the contract: ``message`` always; ``name`` and ``value`` name the offending
input (the ``InvalidParameterValue`` shape); ``id`` names the resource a 403/404/409 is about.
"""
from __future__ import annotations

import contextlib
import json
import logging
from http import HTTPStatus
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException

from app.artifacts.storage import StoreUnavailable

log = logging.getLogger(__name__)

_UNSET = object()


class ApiError(Exception):
    """An error the API answers with: it knows its status code and renders itself."""

    status_code = HTTPStatus.INTERNAL_SERVER_ERROR

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


class BadRequest(ApiError):
    status_code = HTTPStatus.BAD_REQUEST


class Unauthorized(ApiError):
    status_code = HTTPStatus.UNAUTHORIZED


class Forbidden(ApiError):
    status_code = HTTPStatus.FORBIDDEN


class NotFound(ApiError):
    status_code = HTTPStatus.NOT_FOUND


class Conflict(ApiError):
    status_code = HTTPStatus.CONFLICT


class TooManyRequests(ApiError):
    status_code = HTTPStatus.TOO_MANY_REQUESTS


class InvalidParameterValue(ApiError):
    """422: a value is present but wrong; ``name`` is the dotted path of the field."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY


# --- rendering -------------------------------------------------------------------------------

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


def from_http_exception(error: HTTPException, inputs: dict[str, Any]) -> ApiError:
    """An error werkzeug or webargs raised (404, 405, 413, validation; 500 for an unhandled one)."""
    data = getattr(error, "data", None) or {}
    if "messages" in data:
        api_error = validation_error(error.code, data["messages"], inputs)
    elif error.code and error.code >= 500:
        log.error("unhandled error on %s %s", request.method, request.path,
                  exc_info=getattr(error, "original_exception", None) or error)
        api_error = ApiError("the server failed to handle this request", status_code=error.code)
    else:
        api_error = ApiError(data.get("message") or error.description or error.name, status_code=error.code)
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    api_error.headers = {**headers, **(data.get("headers") or {}), **api_error.headers}
    return api_error


def error_document(status_code: int, message: str = "") -> bytes:
    """The body of an error that an HTTP server answers by itself, before any request reaches
    the application (a request line or headers too large, a malformed request)."""
    status = HTTPStatus(status_code)
    if status >= 500 or not message:
        message = "the server failed to handle this request" if status >= 500 else status.phrase
    return json.dumps(ApiError(message, status_code=status).to_body()).encode()


# --- handlers: every error the application raises becomes one of these bodies -----------------

DATABASE_RETRY_AFTER_SECONDS = 5
# The database cannot be reached or is not answering (down, restarting, connections cut, pool
# exhausted): the request may well succeed later.
DATABASE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def render_error(error: ApiError):
    return error.to_body(), int(error.status_code), error.headers


def _rollback() -> None:
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        current_app.extensions["database"].session.rollback()


def _conflict(_error: sa.exc.IntegrityError):
    """Two writers raced for one unique key: the loser changes nothing and hears 409."""
    _rollback()
    return render_error(Conflict("the request conflicts with a concurrent change; read and retry"))


def _database_unavailable(error: Exception):
    """503, not a traceback per request: the database logs the incident once."""
    if isinstance(error, sa.exc.DBAPIError) and not isinstance(error, DATABASE_UNAVAILABLE) \
            and not error.connection_invalidated:
        raise error  # a genuine bug: the usual 500, with its traceback
    current_app.extensions["database"].availability.lost(error)
    _rollback()
    return render_error(ApiError("the database is unavailable; retry later", status_code=503,
                                 headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}))


STORE_RETRY_AFTER_SECONDS = 30


def _store_unavailable(error: StoreUnavailable):
    """503: the artifact store cannot be reached or refuses the configured bucket or keys."""
    log.error("artifact store unavailable on %s %s: %s", request.method, request.path, error)
    _rollback()
    return render_error(ApiError("the artifact store is unavailable; retry later", status_code=503,
                                 headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)}))


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, render_error)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_error_handler(sa.exc.IntegrityError, _conflict)
    for error_type in (*DATABASE_UNAVAILABLE, sa.exc.DBAPIError):
        app.register_error_handler(error_type, _database_unavailable)
