"""Conditional GETs of single resources (RFC 9110): an ETag made of the revision that every write
of a resource bumps (app.db.Revisioned), so that If-None-Match is answered 304 after one indexed
read of that revision, without loading or rendering the resource; and a resource rendered once
per tag, kept by each API process, so that a GET that changes nothing answers the same bytes
after that one read. A tag names everything its JSON depends on, so a cached rendering is
right for as long as its tag is current, whichever replica made the change."""
from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import cachetools
from flask import Response, current_app, g, request

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


def url_root() -> tuple[str, str, str]:
    """What request.host_url is made of, without building it (the links start with it)."""
    return request.scheme, request.host, request.root_path


def etag_of(parts: tuple) -> str:
    """The (unquoted, strong) ETag of a representation made of `parts` (the resource's kind, id
    and revision, and whatever of the caller its JSON depends on) and of the URL root its links
    start with."""
    text = "\n".join(map(str, (RENDERING, *url_root(), *parts)))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


class KeptRenderings:
    """Renderings by key, each API process's own (single resources here, list items in
    app.kept_items): least recently used out first, within a bound on the sum of their sizes
    (`size_of` a kept value); one larger than the whole bound is not kept."""

    def __init__(self, max_size: int, size_of: Callable[[Any], int] = len):
        self._kept = cachetools.LRUCache(max_size, getsizeof=size_of)
        self._size_of = size_of
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any:
        with self._lock:
            return self._kept.get(key)

    def keep(self, key: tuple, value: Any) -> None:
        if self._size_of(value) <= self._kept.maxsize:
            with self._lock:
                self._kept[key] = value


class RenderedResources(KeptRenderings):
    """The newest rendering seen of each resource, as each caller sees it: (ETag, body), within a
    bound in bytes."""

    MAX_BYTES = 32 * 1024 * 1024

    def __init__(self, max_bytes: int = MAX_BYTES):
        super().__init__(max_bytes, size_of=lambda kept: len(kept[1]))


def _rendered() -> RenderedResources:
    return current_app.extensions["rendered_resources"]


def conditional_get(key: tuple, current_parts: Callable[[], tuple], read: Callable[[], T],
                    parts_of: Callable[[T], tuple]) -> Response | tuple[T, int, dict[str, str]]:
    """Answer a GET of the resource `key` names (with whatever of the caller its JSON depends
    on). When If-None-Match is given, or a rendering of it is kept, after one read of its current
    tag (`current_parts` reads only what the tag is made of, and raises NotFound as `read`
    would): 304 when If-None-Match holds it; the kept rendering when it has that tag. Otherwise
    what `read` returns, with the tag made of the row that was read (`keeps_renderings` keeps
    the rendering): one query either way, but after a change."""
    key = (*key, *url_root())
    kept = _rendered().get(key)
    if request.if_none_match or kept is not None:
        etag = etag_of(current_parts())
        if request.if_none_match and request.if_none_match.contains_weak(etag):
            response = Response(status=304)
            response.set_etag(etag)
            return response
        if kept is not None and kept[0] == etag:
            response = Response(kept[1], status=200, mimetype=current_app.json.mimetype)
            response.set_etag(etag)
            return response
    resource = read()
    g.rendering_key = key
    return resource, 200, {"ETag": f'"{etag_of(parts_of(resource))}"'}


def keeps_renderings(view: Callable) -> Callable:
    """Around a conditional GET's rendering (flask-smorest's response decorator): keep the JSON
    rendered, with its tag, for the next GET that finds the same tag current."""
    @functools.wraps(view)
    def rendered(*args, **kwargs):
        response = view(*args, **kwargs)
        key = g.pop("rendering_key", None)
        if key is not None and response.status_code == 200 and response.is_sequence \
                and (etag := response.get_etag()[0]):
            _rendered().keep(key, (etag, response.get_data()))
        return response
    return rendered
