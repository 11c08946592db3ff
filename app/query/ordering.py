"""`$orderby` and keyset paging. NULL sorts as the largest value (NULLS LAST ascending, FIRST
descending: PostgreSQL's default, so one index serves both directions), and the seek condition
after a row agrees with that on every database."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.api_errors import BadRequest
from app.query.fields import Field

OPTION = "$orderby"
MAX_TERMS = 5


@dataclass(frozen=True)
class SortTerm:
    field: Field
    descending: bool

    @property
    def key(self) -> str:
        return f"{self.field.name} {'desc' if self.descending else 'asc'}"

    def clause(self):
        column = self.field.column
        return column.desc().nulls_first() if self.descending else column.asc().nulls_last()


def parse_orderby(text: str | None, fields: Mapping[str, Field], default: list[tuple[str, str]],
                  tie_breaker: Field) -> list[SortTerm]:
    pairs = default if text is None else []
    if text is not None:
        for part in text.split(","):
            words = part.split()
            if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                raise BadRequest("$orderby is a comma list of `field [asc|desc]`", name=OPTION, value=text)
            pairs.append((words[0], words[1].lower() if len(words) == 2 else "asc"))
    if len(pairs) > MAX_TERMS:
        raise BadRequest(f"$orderby may name at most {MAX_TERMS} fields", name=OPTION, value=text)
    terms, seen = [], set()
    for name, direction in pairs:
        field = fields.get(name)
        if field is None or not field.sortable:
            sortable = ", ".join(sorted(n for n, f in fields.items() if f.sortable))
            raise BadRequest(f"$orderby: {name} is not a field you can sort on; fields: {sortable}",
                             name=OPTION, value=text)
        if name in seen:
            continue  # the field's first place in the order counts
        seen.add(name)
        terms.append(SortTerm(field, direction == "desc"))
    if tie_breaker.name not in seen:
        terms.append(SortTerm(tie_breaker, False))  # ties broken by id: stable pages
    return terms


def _after(term: SortTerm, value: Any):
    """The rows strictly after `value` in this term's order (NULL is the largest value)."""
    column = term.field.column
    if term.descending:
        return column.is_not(None) if value is None else column < value
    return sa.false() if value is None else sa.or_(column > value, column.is_(None))


def _equal(term: SortTerm, value: Any):
    return term.field.column.is_(None) if value is None else term.field.column == value


def _nullable(term: SortTerm) -> bool:
    return getattr(getattr(term.field.column, "expression", None), "nullable", True)


def seek_after(terms: list[SortTerm], values: list[Any]):
    """Rows after the row whose sort key is `values`: (a > x) or (a = x and b > y) or ..."""
    if (not any(t.descending for t in terms) and None not in values
            and not any(_nullable(t) for t in terms[1:])):
        # The common case as a row-value comparison, which SQLite and PostgreSQL both answer
        # with an index range scan; rows whose first key is NULL sort after all others.
        after = sa.tuple_(*(t.field.column for t in terms)) > sa.tuple_(*values)
        return sa.or_(after, terms[0].field.column.is_(None)) if _nullable(terms[0]) else after
    alternatives = []
    for index, term in enumerate(terms):
        equal_before = [_equal(t, v) for t, v in zip(terms[:index], values[:index], strict=True)]
        alternatives.append(sa.and_(*equal_before, _after(term, values[index])))
    return sa.or_(*alternatives)
