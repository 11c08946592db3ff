"""One error body for every failure, and the exception type that carries it.

The body follows the contract: ``message`` always; ``name`` and ``value`` name the offending
input (the ``InvalidParameterValue`` shape); ``id`` names the resource a 403/404/409 is about.
"""
from __future__ import annotations

from http import HTTPStatus
from typing import Any

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


class InvalidParameterValue(ApiError):
    """422: a value is present but wrong; ``name`` is the dotted path of the field."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY
