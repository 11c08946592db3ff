"""List items rendered once per tag (their id and revision, app.query.projection.Tag), kept by each
API process: a list page read again is its items' tags in one statement, and the JSON of the
items whose tags are still current, spliced into the page. As for single resources
(app.conditional), a tag names everything an item's JSON depends on, so a kept item is right for
as long as its tag is current, whichever replica or worker made the change."""
from __future__ import annotations

import dataclasses
import functools
import json
import secrets
from collections.abc import Callable
from typing import Any

from flask import Response, current_app
from flask.json.provider import DefaultJSONProvider

from app.conditional import KeptRenderings, url_root
from app.query import ListPageSchema
from app.query.listing import KeptItem, Page

# Where the items go in the page's JSON: unguessable, so that no text of a caller's can stand for it.
_ITEMS_MARKER = f"items {secrets.token_hex(16)}"


class RenderedItems(KeptRenderings):
    """Items' JSON by tag and context (URL root, and caller for items shown per caller), within a
    bound in characters. And, per kind of item, the share of the items looked up lately that
    were found (a moving average of pages' shares)."""

    MAX_CHARACTERS = 32 * 1024 * 1024
    # A page's weight in the moving average, and the share above which most items are found.
    FOUND_WEIGHT, MOSTLY = 0.25, 0.5

    def __init__(self, max_characters: int = MAX_CHARACTERS):
        super().__init__(max_characters)
        self._found: dict[str, float] = {}  # bounded: the kinds of the code

    def mostly_kept(self, kind: str) -> bool:
        return self._found.get(kind, 0.0) > self.MOSTLY

    def found(self, kind: str, kept: int, looked_up: int) -> None:
        if looked_up:
            with self._lock:
                share = self._found.get(kind, 0.0)
                self._found[kind] = share + self.FOUND_WEIGHT * (kept / looked_up - share)


@dataclasses.dataclass(frozen=True)
class CallerItems:
    """The kept items as this request's caller sees them (app.query.listing.KeptItems)."""

    rendered: RenderedItems
    context: tuple

    def get(self, tag: tuple) -> str | None:
        return self.rendered.get((*tag, *self.context))

    def keep(self, tag: tuple, text: str) -> None:
        self.rendered.keep((*tag, *self.context), text)

    def mostly_kept(self, kind: str) -> bool:
        return self.rendered.mostly_kept(kind)

    def found(self, kind: str, kept: int, looked_up: int) -> None:
        self.rendered.found(kind, kept, looked_up)


def kept_items(account: str | None) -> CallerItems | None:
    """This request's kept items (`account` for items shown per caller); None when the answer is
    indented (debug), which spliced items would not be."""
    provider = current_app.json
    if type(provider) is not DefaultJSONProvider or provider.compact is False \
            or (provider.compact is None and current_app.debug):
        return None
    return CallerItems(current_app.extensions["rendered_items"], (*url_root(), account))


def page_response(schema: ListPageSchema, page: Page) -> Response:
    """The page as `schema` renders it, byte for byte what flask-smorest answers, its items'
    JSON taken from those kept and the others rendered and kept."""
    compact = _compact(current_app.json)
    texts = []
    for item, tag in zip(page.items, page.tags, strict=True):
        if isinstance(item, KeptItem):
            texts.append(item.text)
        else:
            texts.append(text := compact(schema.dump_item(item)))
            page.kept.keep(tag, text)
    data = schema.dump(dataclasses.replace(page, items=[]))
    data[schema.ITEMS] = _ITEMS_MARKER
    body = compact(data).replace(compact(_ITEMS_MARKER), f"[{','.join(texts)}]", 1)
    return current_app.response_class(f"{body}\n", mimetype=current_app.json.mimetype)


@functools.lru_cache(maxsize=8)
def _compact(provider: DefaultJSONProvider) -> Callable[[Any], str]:
    """What Flask's provider writes of a response that is not indented (its `dumps` with compact
    separators), from one encoder: `dumps` makes one per call, which cost as much as a small item."""
    return json.JSONEncoder(default=provider.default, ensure_ascii=provider.ensure_ascii,
                            sort_keys=provider.sort_keys, separators=(",", ":")).encode
