"""Every limit on what a /1/ request may carry, checked before any view: the body's size (from
Content-Length, and while a chunked body streams in), its media type, and, through
app.bounded_json, its nesting, numbers, strings, lists and characters. The body is read and parsed
here once; views get it through webargs, which asks `json_body()`."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from flask import Flask, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.api_errors import ApiError, BadRequest, InvalidParameterValue
from app.bounded_json import NUL, BodyProblem, decode, shown
from app.config import RequestLimits

API_PREFIX = "/1/"
JSON_BODY_METHODS = ("POST", "PUT", "PATCH")
CHECKED_HEADERS = ("Idempotency-Key",)
_UNREAD = object()
RAW_BODY_MAX_BYTES = 2**62  # (None would mean the app-wide limit) the view limits what it streams


def accept_raw_body(view):
    """Mark a view whose body is content of any type and size (an upload it streams and limits
    itself), not JSON: the JSON and body-size checks here leave it alone."""
    view.takes_raw_body = True
    return view


RAW_BODY = {"required": False, "description": "The content (none: an empty file).",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
RAW_BODY_CHUNK_BYTES = 1024 * 1024


def raw_body_chunks() -> Iterator[bytearray]:
    """A raw body as it arrives, a chunk at a time (never whole in memory). Each chunk is filled
    to RAW_BODY_CHUNK_BYTES (but the last) straight from the socket: a read returns what one
    receive gave, often a few KiB, and every chunk costs a trip through the store and its hash.
    If the sender breaks off, what did arrive is still given (a resumable upload keeps it)
    before the error."""
    stream = request.stream
    while True:
        chunk, filled, broken_off = bytearray(RAW_BODY_CHUNK_BYTES), 0, None
        with memoryview(chunk) as free:
            try:
                while filled < RAW_BODY_CHUNK_BYTES and (received := stream.readinto(free[filled:])):
                    filled += received
            except Exception as error:
                broken_off = error
        if filled:  # (a slice, not a resize: an error's traceback may still hold views of the chunk)
            yield chunk if filled == RAW_BODY_CHUNK_BYTES else chunk[:filled]
        if broken_off is not None:
            raise broken_off
        if filled < RAW_BODY_CHUNK_BYTES:
            return


def raw_body_mime_type() -> str | None:
    """A raw body's media type, from Content-Type (None when it names none)."""
    mime_type = request.mimetype
    if mime_type and (len(mime_type) > 255 or "/" not in mime_type):
        raise InvalidParameterValue("Content-Type: a media type such as text/csv", name="Content-Type",
                                    value=mime_type[:255])
    return mime_type or None


def _takes_raw_body() -> bool:
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    method = getattr(view_class, request.method.lower(), None)
    return getattr(method, "takes_raw_body", False)


def _limits() -> RequestLimits:
    return current_app.config["MARKETPLACE"].requests


def _has_body() -> bool:
    return request.content_length != 0 and bool(request.content_length or request.headers.get("Transfer-Encoding"))


def require_json_body() -> None:
    """A body we cannot read as JSON is a 415, not a misleading 'field missing' 422."""
    if request.method in JSON_BODY_METHODS and not request.is_json and _has_body():
        raise ApiError("send the body as JSON with Content-Type: application/json", status_code=415)


def _read_body() -> bytes:
    limit = _limits().body_bytes
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        data = None
    # A chunked body is read at most one byte past the limit (werkzeug stops there quietly).
    if data is None or len(data) > limit:
        raise ApiError(f"the request body may be at most {limit} bytes", status_code=413)
    return data


def json_body() -> Any:
    """This request's JSON body, read within the limits (ma.missing when there is none)."""
    body = g.get("json_body", _UNREAD)
    if body is _UNREAD:
        body = ma.missing
        if request.method in JSON_BODY_METHODS and request.is_json and (data := _read_body()):
            try:
                body = decode(data, _limits())
            except BodyProblem as problem:
                raise _as_error(problem) from None
        g.json_body = body
    return body


def _as_error(problem: BodyProblem) -> ApiError:
    if problem.path is None:
        return BadRequest(problem.message)
    name = shown(".".join(str(part) for part in problem.path)) or "body"
    error_type = InvalidParameterValue if problem.status == 422 else BadRequest
    return error_type(f"{name}: {problem.message}", name=name, value=problem.value)


def reject_nul_characters() -> None:
    """NUL outside the body (the body's are found by json_body): no text column can hold one."""
    message = "NUL characters are not allowed"
    if NUL in request.path:
        raise BadRequest(message, name="path", value=request.path)
    for key, value in request.args.items(multi=True):
        if NUL in key or NUL in value:
            raise BadRequest(message, name=key, value=value)
    for header in CHECKED_HEADERS:
        if NUL in request.headers.get(header, ""):
            raise BadRequest(message, name=header, value=request.headers[header])


def guard_api_request() -> None:
    if request.path.startswith(API_PREFIX) and _takes_raw_body():
        request.max_content_length = RAW_BODY_MAX_BYTES
        reject_nul_characters()
    elif request.path.startswith(API_PREFIX):
        require_json_body()
        reject_nul_characters()
        json_body()


def init_app(app: Flask, limits: RequestLimits) -> None:
    # werkzeug refuses a larger Content-Length before reading, and stops a chunked body there.
    app.config["MAX_CONTENT_LENGTH"] = limits.body_bytes + 1
    app.before_request(guard_api_request)
