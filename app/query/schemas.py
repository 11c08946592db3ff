"""Rendering a page: `$select` trims the items of the page's schema."""
from __future__ import annotations

import marshmallow as ma

from app.common_schemas import NavLinksSchema

ALWAYS_SELECTED = ("id", "links")


def item_fields(schema: type[ma.Schema]) -> tuple[str, ...]:
    """Every field a list item shows, by its JSON name: what `$select` may name."""
    return tuple(field.data_key or name for name, field in schema().fields.items())


class ListPageSchema(ma.Schema):
    """A list response, rendered from a Page; subclasses declare their items field, named in
    ITEMS, with attribute="items"."""

    ITEMS = "items"

    links = ma.fields.Nested(NavLinksSchema, required=True)

    @ma.post_dump(pass_original=True)
    def _apply_select(self, data, page, **_kwargs):
        if page.select:
            keep = set(page.select) | set(ALWAYS_SELECTED)
            data[self.ITEMS] = [{k: v for k, v in item.items() if k in keep} for item in data[self.ITEMS]]
        return data
