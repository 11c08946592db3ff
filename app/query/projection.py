"""A list page read in one statement: the columns its items show, and each of their collections
as a JSON array aggregated in the same row, instead of ORM instances and one more query per
collection (selectin). The items are plain objects with the same attribute names, so that the
item schema renders them as it renders the models.

A projection with a `Tag` can also read a page as its items' tags alone (id and revision), so that
the items rendered before are not read again (app.kept_items keeps them per tag)."""
from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.query.fields import INT, STRING, kind_of


@dataclass(frozen=True)
class Collection:
    """The child rows of a listed row (`where` ties them to it), in `order_by`'s order: the values
    of `value`, or objects of the `members` columns (under their attribute names)."""

    name: str
    where: Any
    order_by: tuple[Any, ...]
    value: Any = None
    members: tuple[Any, ...] = ()

    def __post_init__(self):
        # JSON brings back text and whole numbers as they were; a time would come back as text,
        # and a boolean as 0 or 1 from SQLite.
        for column in (self.value, *self.members):
            if column is not None and kind_of(column) not in (STRING, INT):
                raise TypeError(f"{self.name}: {column} is neither text nor a whole number")

    def _pairs(self) -> list[Any]:
        return [part for column in self.members for part in (sa.literal_column(f"'{column.key}'"), column)]

    def aggregate(self, dialect: str) -> sa.ColumnElement:
        if dialect == "postgresql":
            value = self.value if self.value is not None else sa.func.json_build_object(*self._pairs())
            rows = sa.select(sa.func.json_agg(aggregate_order_by(value, *self.order_by))).where(self.where)
            return sa.func.coalesce(rows.scalar_subquery(), sa.literal_column("'[]'::json"))
        # SQLite aggregates in the order of a subquery's rows; json() keeps an object an object.
        value = self.value if self.value is not None else sa.func.json_object(*self._pairs())
        # A subquery in FROM is not correlated unless told: the listed row is the outer query's.
        child_tables = {column.expression.table for column in (self.value,) + self.members if column is not None}
        ordered = sa.select(value.label("value")).where(self.where).order_by(*self.order_by) \
            .correlate_except(*child_tables).subquery()
        member = ordered.c.value if self.value is not None else sa.func.json(ordered.c.value)
        return sa.type_coerce(sa.select(sa.func.json_group_array(member)).scalar_subquery(), sa.JSON)


@dataclass(frozen=True)
class Tag:
    """What tells one rendering of a listed item from another: the `columns` (its id first, then
    what every change of what the item shows bumps: app.db.Revisioned), under `kind`;
    `per_caller` when the item shows each caller something else."""

    kind: str
    columns: tuple[Any, ...]
    per_caller: bool = False
    _values: Callable[[Any], tuple] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_values", operator.attrgetter(*(column.key for column in self.columns)))

    def of(self, row: Any) -> tuple:
        """The tag of a row (or an item) that has the columns' attributes: (kind, id, ...)."""
        return (self.kind, *self._values(row))


@dataclass(frozen=True)
class Projection:
    """What a list's items show: `columns` of the listed model and its `collections`."""

    columns: tuple[Any, ...]
    collections: tuple[Collection, ...]
    tag: Tag | None = None
    _read: dict[str, tuple[Any, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def of_schema(cls, model: type, schema: type[ma.Schema], *collections: Collection,
                  computed_from: tuple[str, ...] = (), tag: Tag | None = None) -> Projection:
        """The columns of `model` that the item `schema`'s fields name, and those its computed
        fields read (`computed_from`, attribute names), and `collections`; and the `tag` columns."""
        columns = {attribute.key for attribute in sa.inspect(model).column_attrs}
        names = (*(field.attribute or name for name, field in schema().dump_fields.items()), *computed_from,
                 *(column.key for column in (tag.columns if tag else ())))
        return cls(tuple(getattr(model, name) for name in dict.fromkeys(names) if name in columns), collections,
                   tag)

    def statement(self, base: sa.Select, dialect: str, sorted_by: list[Any]) -> sa.Select:
        """`base` (a select of the model, with its conditions) reading only what the items show,
        and the `sorted_by` columns that a page token reads of the last item."""
        read = self._read.get(dialect)
        if read is None:  # built once per dialect: building the aggregates costs more than running them
            read = self._read[dialect] = (*self.columns, *(collection.aggregate(dialect).label(collection.name)
                                                           for collection in self.collections))
        return base.with_only_columns(*read, *_others(sorted_by, self.columns))

    def tags_statement(self, base: sa.Select, sorted_by: list[Any]) -> sa.Select:
        """`base` reading only its items' tags and the `sorted_by` columns: the page's rows."""
        return base.with_only_columns(*self.tag.columns, *_others(sorted_by, self.tag.columns))

    def tagged_statement(self, base: sa.Select, dialect: str, ids: list[Any]) -> sa.Select:
        """The items of `base` whose ids are `ids` (in no order), as `statement` reads them."""
        return self.statement(base, dialect, []).where(self.tag.columns[0].in_(ids))

    def items(self, rows: list[sa.Row]) -> list[SimpleNamespace]:
        """Plain objects of `rows` (of `statement`), with the attributes the models have."""
        keys = rows[0]._fields if rows else ()
        nested = [collection.name for collection in self.collections if collection.members]
        items = []
        for row in rows:
            values = dict(zip(keys, row, strict=True))
            for name in nested:
                values[name] = [SimpleNamespace(**member) for member in values[name]]
            items.append(SimpleNamespace(**values))
        return items


def _others(columns: list[Any], besides: tuple[Any, ...]) -> list[Any]:
    """The `columns` whose attribute names are not among those of `besides`."""
    taken = {column.key for column in besides}
    return [column for column in columns if column.key not in taken]
