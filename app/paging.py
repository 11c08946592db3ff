"""limit/offset paging of line items (an order's logs) and its links; lists use app.query."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import request


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
