"""Rendering a page in a Flask request: `$select` trims the items of the page's schema."""
from __future__ import annotations

import flask
import marshmallow as ma
import sqlalchemy as sa

from app.query.listing import ListSpec

ALWAYS_SELECTED = ("id", "links")


def fetch_page(spec: ListSpec, session, base: sa.Select, items_key: str) -> dict:
    """Run the list options of this request against `base` (which already limits what the
    caller may see) and answer the page with its links."""
    page = spec.fetch(session, base, flask.request.args, flask.current_app.config["SECRET_KEY"],
                      flask.request.base_url)
    flask.g.list_select = page.select
    return {items_key: page.items, "links": page.links}


def item_fields(schema: type[ma.Schema]) -> tuple[str, ...]:
    """Every field a list item shows, by its JSON name: what `$select` may name."""
    return tuple(field.data_key or name for name, field in schema().fields.items())


class ListPageSchema(ma.Schema):
    """A list response; subclasses name their items field in ITEMS."""

    ITEMS = "items"

    @ma.post_dump
    def _apply_select(self, data, **_kwargs):
        select = flask.g.get("list_select") if flask.has_request_context() else None
        if select:
            keep = set(select) | set(ALWAYS_SELECTED)
            data[self.ITEMS] = [{k: v for k, v in item.items() if k in keep} for item in data[self.ITEMS]]
        return data
