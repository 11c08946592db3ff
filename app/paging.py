"""limit/offset paging and its links (the OData options replace this)."""
from __future__ import annotations

from urllib.parse import urlencode

import marshmallow as ma
from flask import request
from marshmallow import validate

MAX_PAGE_SIZE = 1000


class SimplePageSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    limit = ma.fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    offset = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31))


def _url_with(**changes) -> str:
    """This request's URL with its other query options kept and the paging ones replaced."""
    args = {key: value for key, value in request.args.items(multi=True) if key not in changes}
    return f"{request.base_url}?{urlencode({**args, **changes})}"


def page_links(page: dict, has_next: bool) -> dict[str, str]:
    links = {"self": request.url, "first": _url_with(limit=page["limit"], offset=0)}
    if has_next:
        links["next"] = _url_with(limit=page["limit"], offset=page["offset"] + page["limit"])
    return links


def page_result(key: str, fetch, page: dict) -> dict:
    """Fetch one row more than the page holds, to know whether a next page exists."""
    rows = fetch(page["limit"] + 1, page["offset"])
    return {key: rows[:page["limit"]], "links": page_links(page, has_next=len(rows) > page["limit"])}
