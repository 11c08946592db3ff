"""Every failure becomes the one error body (app/api_errors.py): the handlers, in one place.

The error values themselves live Flask-free in app/api_errors.py, so that any layer may raise them.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException

from app.api_errors import ApiError, Conflict, validation_error

log = logging.getLogger(__name__)


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


def store_unavailable(error: Exception):
    """503: the artifact store cannot be reached or refuses the configured bucket or keys (its
    StoreUnavailable says which to the log, not to the client); create_app registers it."""
    log.error("artifact store unavailable on %s %s: %s", request.method, request.path, error)
    _rollback()
    return render_error(ApiError("the artifact store is unavailable; retry later", status_code=503,
                                 headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)}))


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, render_error)
    app.register_error_handler(sa.exc.IntegrityError, _conflict)
    for error_type in (*DATABASE_UNAVAILABLE, sa.exc.DBAPIError):
        app.register_error_handler(error_type, _database_unavailable)
