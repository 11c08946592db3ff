"""A list endpoint declares its fields once; `fetch` applies the options and builds the page."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api_errors import BadRequest
from app.query.fields import Field, PairCollection, StringCollection
from app.query.filtering import compile_filter
from app.query.options import read_options
from app.query.ordering import parse_orderby, seek_after
from app.query.tokens import make_token, read_token

_POSITION_OPTIONS = ("$skip", "offset", "pageToken")


@dataclass
class Page:
    items: list[Any]
    links: dict[str, str]
    select: list[str] | None


@dataclass(frozen=True)
class ListSpec:
    fields: list[Field | StringCollection | PairCollection]
    tie_breaker: str
    default_order: list[tuple[str, str]]
    selectable: tuple[str, ...] = ()
    declared: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "declared", {f.name: f for f in self.fields})

    def _scalar_fields(self) -> dict[str, Field]:
        return {name: f for name, f in self.declared.items() if isinstance(f, Field)}

    def _select(self, text: str | None) -> list[str] | None:
        if text is None:
            return None
        names = [name.strip() for name in text.split(",")]
        unknown = [name for name in names if name not in self.selectable]
        if unknown or not all(names):
            raise BadRequest(f"$select: {unknown[0] if unknown else 'an empty name'} is not a field you can "
                             f"select; fields: {', '.join(self.selectable)}", name="$select", value=text)
        return names

    def fetch(self, session: Session, base: sa.Select, args: Mapping[str, Any], secret: str,
              base_url: str) -> Page:
        options = read_options(args)
        fields = self._scalar_fields()
        terms = parse_orderby(options.orderby, fields, self.default_order, fields[self.tie_breaker])
        select = self._select(options.select)
        statement = base
        if options.filter is not None:
            statement = statement.where(compile_filter(options.filter, self.declared))
        if options.page_token is not None:
            values = read_token(secret, options.page_token, options.filter, terms)
            statement = statement.where(seek_after(terms, values))
        statement = statement.order_by(*(term.clause() for term in terms))
        rows = list(session.scalars(statement.offset(options.skip).limit(options.limit + 1)))
        items = rows[:options.limit]
        kept = {key: value for key, value in args.items() if key not in _POSITION_OPTIONS}
        links = {"self": _url(base_url, args), "first": _url(base_url, kept)}
        if len(rows) > options.limit:
            last = items[-1]
            token = make_token(secret, options.filter, terms,
                               [getattr(last, term.field.column.key) for term in terms])
            links["next"] = _url(base_url, {**kept, "pageToken": token})
        return Page(items, links, select)


def _url(base_url: str, args: Mapping[str, Any]) -> str:
    query = urlencode(list(args.items()))
    return f"{base_url}?{query}" if query else base_url
