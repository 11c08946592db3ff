"""Conditional GETs of single resources (RFC 9110): an ETag made of the revision that every write
of a resource bumps (app.db.Revisioned), so that If-None-Match is answered 304 after one indexed
read of that revision, without loading or rendering the resource."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from flask import Response, request

# Changed with a response schema, so that tags given for the former rendering stop matching.
RENDERING = "1"

IF_NONE_MATCH_PARAMETER = {
    "in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
    "description": "The ETag of a copy the client holds (or a comma-separated list of them, or `*`): when the "
                   "resource still has it, the answer is 304 without a body. Compared weakly; a malformed "
                   "value matches nothing."}
ETAG_HEADER = {"description": "The tag of this representation: send it as If-None-Match to read it again only "
                             "if it changed. It changes with anything the JSON shows.",
               "schema": {"type": "string"}}
NOT_MODIFIED_RESPONSE = {"description": "Not modified: the ETag given in If-None-Match is still current (no body).",
                         "headers": {"ETag": ETAG_HEADER}}

T = TypeVar("T")


def etag_of(parts: tuple) -> str:
    """The (unquoted, strong) ETag of a representation made of `parts` (the resource's kind, id
    and revision, and whatever of the caller its JSON depends on) and of the URL root its links
    start with."""
    text = "\n".join(map(str, (RENDERING, request.host_url, *parts)))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def conditional_get(current_parts: Callable[[], tuple], read: Callable[[], T],
                    parts_of: Callable[[T], tuple]) -> Response | tuple[T, int, dict[str, str]]:
    """Answer a GET: 304 with the tag when If-None-Match holds the current one (`current_parts`
    reads only what it is made of, and raises NotFound as `read` would); otherwise what `read`
    returns, with its tag, made of the row that was read."""
    if request.if_none_match:
        etag = etag_of(current_parts())
        if request.if_none_match.contains_weak(etag):
            response = Response(status=304)
            response.set_etag(etag)
            return response
    resource = read()
    return resource, 200, {"ETag": f'"{etag_of(parts_of(resource))}"'}
