"""Page tokens: the sort key of the last row seen, signed, and bound to the filter and order
they were made for, so that a token cannot be forged or reused for another query."""
from __future__ import annotations

import functools
import hashlib
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from app.api_errors import BadRequest
from app.query.fields import DATETIME
from app.query.ordering import SortTerm

OPTION = "pageToken"
SALT = "marketplace.list-page"


def _binding(filter_text: str | None, terms: list[SortTerm]) -> str:
    described = f"{filter_text or ''}\x00{','.join(term.key for term in terms)}"
    return hashlib.sha256(described.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def make_token(secret: str, filter_text: str | None, terms: list[SortTerm], values: list[Any]) -> str:
    encoded = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return _serializer(secret).dumps({"b": _binding(filter_text, terms), "k": encoded})


def read_token(secret: str, token: str, filter_text: str | None, terms: list[SortTerm]) -> list[Any]:
    try:
        content = _serializer(secret).loads(token)
    except BadSignature:
        raise BadRequest("pageToken is not one this server made", name=OPTION, value=token) from None
    if not isinstance(content, dict) or content.get("b") != _binding(filter_text, terms):
        raise BadRequest("pageToken was made for another $filter or $orderby; start again from the first page",
                         name=OPTION, value=token)
    values = content.get("k")
    if not isinstance(values, list) or len(values) != len(terms):
        raise BadRequest("pageToken is not one this server made", name=OPTION, value=token)
    return [datetime.fromisoformat(value) if term.field.kind == DATETIME and value is not None else value
            for term, value in zip(terms, values, strict=True)]
