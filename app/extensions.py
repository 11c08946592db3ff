"""flask-smorest, adapted in one place: our error body everywhere and documented status codes."""
from __future__ import annotations

import functools
import http
from collections.abc import Mapping
from typing import Any

import flask_smorest
import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, request
from flask_smorest.arguments import ArgumentsMixin
from flask_smorest.utils import prepare_response, resolve_schema_instance
from werkzeug.exceptions import HTTPException

from app.auth import current_account
from app.common_schemas import ErrorSchema, InvalidParameterValueSchema
from app.conditional import ETAG_HEADER, IF_NONE_MATCH_PARAMETER, NOT_MODIFIED_RESPONSE, keeps_renderings
from app.errors import from_http_exception, render_error
from app.kept_items import kept_items, page_response
from app.query import list_options_parameter
from app.query.listing import ListSpec, Page
from app.query.projection import Projection
from app.request_guards import json_body

BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                 "description": "`marketplace token --account NAME` prints one."}


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_responses(self):
        super()._register_responses()
        # 422 carries the contract's InvalidParameterValue body.
        response = {"description": http.HTTPStatus.UNPROCESSABLE_ENTITY.phrase,
                    "schema": InvalidParameterValueSchema}
        prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
        self.spec.components.response("UNPROCESSABLE_ENTITY", response, lazy=True)
        # 429 and 503 say when to try again.
        retry_after = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                       "schema": {"type": "integer", "minimum": 1}}}
        for status in (http.HTTPStatus.TOO_MANY_REQUESTS, http.HTTPStatus.SERVICE_UNAVAILABLE):
            response = {"description": status.phrase, "schema": ErrorSchema, "headers": retry_after}
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        """werkzeug's and webargs' errors (404, 405, validation, 500) in our shape."""
        inputs = {"json": json_body(), "query": request.args.to_dict(), "headers": dict(request.headers)} \
            if "messages" in (getattr(error, "data", None) or {}) else {}
        return render_error(from_http_exception(error, inputs))


class StrictParser(type(ArgumentsMixin.ARGUMENTS_PARSER)):
    """webargs drops unknown query keys by default, so a misspelt option would be ignored; and
    it would parse the body again, without our limits: it takes the one the guards read."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**type(ArgumentsMixin.ARGUMENTS_PARSER).DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": ma.RAISE, "querystring": ma.RAISE}

    def load_json(self, req, schema):
        return json_body()


class Blueprint(flask_smorest.Blueprint):
    """A resource's routes; every view documents the errors the whole API may answer."""

    ARGUMENTS_PARSER = StrictParser()

    # Every /1/ operation needs a bearer token (401), and any may find the database unavailable (503).
    COMMON_ERRORS = (401, 503)

    def arguments(self, schema, *args, **kwargs):
        """As flask-smorest's, with one instance of a schema class for every request: webargs
        would make one per request, and marshmallow copies every declared field to make it."""
        return super().arguments(resolve_schema_instance(schema), *args, **kwargs)

    def documented_errors(self, *codes: int):
        """Document error responses of a view (the body is always ErrorSchema)."""
        def decorator(func):
            for code in (*codes, *self.COMMON_ERRORS):
                func = self.alt_response(code, response=http.HTTPStatus(code).name)(func)
            return func
        return decorator

    def operation(self, operation_id: str, status: int, schema: type[ma.Schema] | None = None, *codes: int,
                  example: Any = None, conditional: bool = False):
        """One view's contract in one line: its operationId, its answer (status, schema and
        example) and the errors it may give besides COMMON_ERRORS. `conditional`: a GET that
        gives an ETag and answers If-None-Match (app.conditional)."""
        def decorator(view):
            view = self.documented_errors(*codes)(view)
            headers = {"ETag": ETAG_HEADER} if conditional else None
            view = self.response(status, schema, example=example, headers=headers)(view)
            if conditional:
                view = keeps_renderings(view)
                view = self.doc(parameters=[IF_NONE_MATCH_PARAMETER], responses={"304": NOT_MODIFIED_RESPONSE})(view)
            return self.doc(operationId=operation_id)(view)
        return decorator

    def list_view(self, spec: ListSpec, schema: type[ma.Schema], example: Mapping[str, Any], *codes: int,
                  response_example: Mapping[str, Any] | None = None, operation_id: str | None = None,
                  projection: Projection | None = None):
        """A list: the view returns the select of what the caller may see; this pages it by the
        request's list options (documented, with `example`) and renders the page with `schema`
        (documented with `response_example`), its items read by `projection` when given (and
        kept rendered, when it has a tag: app.kept_items). A bad option is a 400; `codes` are
        the view's other errors."""
        page_schema = resolve_schema_instance(schema)

        def decorator(view):
            @functools.wraps(view)
            def paged(*args, **kwargs):
                page = fetch_page(spec, view(*args, **kwargs), projection)
                return page if page.kept is None else page_response(page_schema, page)
            paged = self.documented_errors(400, *codes)(paged)
            paged = self.response(200, schema, example=response_example)(paged)
            if operation_id:
                paged = self.doc(operationId=operation_id)(paged)
            return self.doc(parameters=[list_options_parameter(spec, example)])(paged)
        return decorator


def db_engine() -> sa.Engine:
    """The database engine, for reads that need no session (app.direct_reads.QuickRead)."""
    return current_app.extensions["database"].engine


def db_session():
    """The database session of the current request."""
    return current_app.extensions["database"].session


def artifact_store():
    """The artifact store (app.artifacts.storage.Store) of this application."""
    return current_app.extensions["artifact_store"]


def fetch_page(spec: ListSpec, base: sa.Select, projection: Projection | None = None) -> Page:
    """The page of `base` (which already limits what the caller may see) that this request's
    list options ask for: the one place that hands the request to the Flask-free query layer."""
    kept = None
    if projection is not None and projection.tag is not None:
        kept = kept_items(current_account() if projection.tag.per_caller else None)
    return spec.fetch(db_session(), base, request.args.items(multi=True), current_app.config["SECRET_KEY"],
                      request.base_url, projection=projection, kept=kept)
