"""What a list exposes to its options: fields by their API names, and collections for any()."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

STRING, INT, NUMBER, BOOL, DATETIME = "string", "int", "number", "bool", "date-time"


def kind_of(column: Any) -> str:
    column_type = column.type
    if isinstance(column_type, sa.types.TypeDecorator):
        column_type = column_type.impl
    for sql_type, kind in ((sa.Boolean, BOOL), (sa.Integer, INT), (sa.Numeric, NUMBER), (sa.Float, NUMBER),
                           (sa.DateTime, DATETIME), (sa.String, STRING)):
        if isinstance(column_type, sql_type):
            return kind
    raise TypeError(f"no list option kind for {column_type!r}")


@dataclass(frozen=True)
class Field:
    """A column under its API name (hyphenated like the JSON key)."""

    name: str
    column: Any
    sortable: bool = True
    filterable: bool = True

    @property
    def kind(self) -> str:
        return kind_of(self.column)


@dataclass(frozen=True)
class StringCollection:
    """A list of strings kept in a child table: `tags/any(t: t eq 'x')`."""

    name: str
    join: Any      # the condition tying a child row to its parent row
    value: Any     # the child column holding the string


@dataclass(frozen=True)
class PairCollection:
    """A list of objects kept in a child table: `metadata/any(m: m/name eq 'a' and m/value eq 'b')`."""

    name: str
    join: Any
    members: dict[str, Any]
