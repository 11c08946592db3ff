"""`$orderby` and keyset paging. NULL sorts as the largest value (NULLS LAST ascending, FIRST
descending), and the seek condition after a row agrees with that on every database.

A nullable field sorts by two keys, `field IS NULL` and then the field, so that no key is ever
compared with NULL. When the first field is nullable a page is read partition by partition
(`partitions`): the rows where it is not NULL, then those where it is (the other way round when
descending), each an index range on the plain (field, id) index at any depth, where a single
`name > x OR name IS NULL` makes PostgreSQL scan the index from its start and filter, and
SQLite sort every row, for every page."""
from __future__ import annotations

import dataclasses
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
    not_null: bool = False  # within a partition where it is known not to be NULL

    @property
    def key(self) -> str:
        return f"{self.field.name} {'desc' if self.descending else 'asc'}"

    def keys(self) -> list:
        """What the rows are ordered by for this term: never NULL, except the field itself
        within the rows where it is NULL, where it ties."""
        column = self.field.column
        return [column.is_(None), column] if _nullable(self) else [column]

    def clauses(self) -> list:
        return [key.desc() if self.descending else key.asc() for key in self.keys()]


def order_clauses(terms: list[SortTerm]) -> list:
    return [clause for term in terms for clause in term.clauses()]


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


def _nullable(term: SortTerm) -> bool:
    return not term.not_null and getattr(getattr(term.field.column, "expression", None), "nullable", True)


def partitions(terms: list[SortTerm], values: list[Any] | None) -> list[tuple[Any, list]]:
    """(condition, ORDER BY clauses) of each partition that the rows after `values` (all rows
    when None) lie in, in order; read one after the other, they give the rows in the order of
    `terms`. One partition unless the first field is nullable."""
    first, rest = terms[0], terms[1:]
    if not _nullable(first):
        return [(sa.true() if values is None else seek_after(terms, values), order_clauses(terms))]
    column = first.field.column
    not_null = [dataclasses.replace(first, not_null=True), *rest]
    ordered = [(column.is_not(None), not_null, values), (column.is_(None), rest, values and values[1:])]
    if first.descending:  # NULL is the largest value: its rows come first when descending
        ordered.reverse()
    if values is None:
        return [(condition, order_clauses(within)) for condition, within, _ in ordered]
    current, *later = ordered[int((values[0] is None) != first.descending):]
    condition, within, after = current
    return [(sa.and_(condition, seek_after(within, after)), order_clauses(within)),
            *((condition, order_clauses(within)) for condition, within, _ in later)]


def _key_values(terms: list[SortTerm], values: list[Any]) -> list[tuple[Any, bool, Any]]:
    """(key, descending, the row's value) for each key that a following row may differ in: the
    field of a NULL value is left out, since all the rows it ties with are NULL there too."""
    keyed = []
    for term, value in zip(terms, values, strict=True):
        if _nullable(term):
            keyed.append((term.field.column.is_(None), term.descending, sa.literal(value is None, sa.Boolean())))
            if value is None:
                continue
        keyed.append((term.field.column, term.descending, value))
    return keyed


def _compare(keys: list, values: list, descending: bool, strict: bool):
    left, right = (keys[0], values[0]) if len(keys) == 1 else (sa.tuple_(*keys), sa.tuple_(*values))
    if descending:
        return left < right if strict else left <= right
    return left > right if strict else left >= right


def seek_after(terms: list[SortTerm], values: list[Any]):
    """Rows after the row whose sort key is `values`. In one direction, a row-value comparison
    (an index range); with mixed directions, (a > x) or (a = x and b > y) or ..., bounded by a
    row-value comparison of the leading keys that share a direction, so that it stays a range."""
    keyed = _key_values(terms, values)
    keys, directions, key_values = ([k[i] for k in keyed] for i in range(3))
    leading = next((i for i, d in enumerate(directions) if d != directions[0]), len(directions))
    if leading == len(keys):
        return _compare(keys, key_values, directions[0], strict=True)
    alternatives = []
    for index in range(len(keys)):
        equal_before = [key == value for key, value in zip(keys[:index], key_values[:index], strict=True)]
        alternatives.append(sa.and_(*equal_before, _compare([keys[index]], [key_values[index]], directions[index],
                                                            strict=True)))
    bound = _compare(keys[:leading], key_values[:leading], directions[0], strict=False)
    return sa.and_(bound, sa.or_(*alternatives))
