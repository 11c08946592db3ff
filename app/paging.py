"""limit/offset paging and its links (the OData options replace this)."""
from __future__ import annotations

import marshmallow as ma
from flask import request
from marshmallow import validate

MAX_PAGE_SIZE = 1000


class SimplePageSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    limit = ma.fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    offset = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31))


def page_links(page: dict, has_next: bool) -> dict[str, str]:
    base = request.base_url
    links = {"self": request.url, "first": f"{base}?limit={page['limit']}"}
    if has_next:
        links["next"] = f"{base}?limit={page['limit']}&offset={page['offset'] + page['limit']}"
    return links


def page_result(key: str, fetch, page: dict) -> dict:
    """Fetch one row more than the page holds, to know whether a next page exists."""
    rows = fetch(page["limit"] + 1, page["offset"])
    return {key: rows[:page["limit"]], "links": page_links(page, has_next=len(rows) > page["limit"])}
