"""Reads run on a DBAPI cursor, without the ORM or SQLAlchemy's execution layer, for the paths
where that layer costs more than the statement: the revision read behind every conditional GET
(QuickRead) and a list page read again (PreparedRead). The engine's cursor listeners still see
every statement, and errors come out as SQLAlchemy's. No Flask here (app.query uses it)."""
from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class _ConnectionShown:
    """What cursor-execute listeners read of a SQLAlchemy Connection (no execution context)."""

    engine: sa.Engine
    connection: sa.PoolProxiedConnection

    @property
    def dialect(self) -> sa.Dialect:
        return self.engine.dialect


def _run(dispatch, shown, dialect: sa.Dialect, dbapi_connection, invalidate: Callable[[Exception], None],
         sql: str, parameters) -> tuple[list[tuple], Any]:
    """`sql` on a DBAPI cursor of `dbapi_connection`: its rows and the cursor's description. The
    engine's cursor listeners see it as any statement (the availability log, tests that count
    queries), with `shown` as the connection; a driver's error comes out as SQLAlchemy's, and a
    lost connection is invalidated."""
    cursor = None
    try:
        cursor = dbapi_connection.cursor()
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(shown, cursor, sql, parameters, None, False)
        cursor.execute(sql, parameters)
        rows = cursor.fetchall()
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(shown, cursor, sql, parameters, None, False)
        return rows, cursor.description
    except dialect.loaded_dbapi.Error as error:
        invalidated = dialect.is_disconnect(error, dbapi_connection, cursor)
        if invalidated:
            invalidate(error)
        raise sa.exc.DBAPIError.instance(sql, parameters, error, dialect.loaded_dbapi.Error,
                                         connection_invalidated=invalidated, dialect=dialect) from error
    finally:
        if cursor is not None:
            cursor.close()


def _parameters(values: dict[str, Any], names: tuple[str, ...] | None):
    """The DBAPI's parameters: by name, or in the order a positional dialect (SQLite) wants."""
    return tuple(values[name] for name in names) if names is not None else values


class QuickRead:
    """One indexed SELECT of plain columns (no type conversions), run on a pooled DBAPI
    connection outside a transaction, without the ORM or SQLAlchemy's execution layer, which
    cost ten times the statement itself on SQLite: the read that answers every conditional GET.
    Its bind parameters are named (sa.bindparam); errors come out as SQLAlchemy's."""

    def __init__(self, statement: sa.Select):
        self._statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}  # dialect -> (SQL, positional names)

    def _sql(self, dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None]:
        if (known := self._compiled.get(dialect.name)) is None:
            compiled = self._statement.compile(dialect=dialect)
            known = self._compiled[dialect.name] = (compiled.string,
                                                    tuple(compiled.positiontup) if compiled.positional else None)
        return known

    def first(self, engine: sa.Engine, **values) -> tuple | None:
        dialect, dispatch = engine.dialect, engine.dispatch
        sql, names = self._sql(dialect)
        connection = engine.raw_connection()
        try:
            dialect.set_isolation_level(connection.dbapi_connection, "AUTOCOMMIT")  # no BEGIN, no ROLLBACK
            # What a Connection would show the listeners of the connection.
            shown = _ConnectionShown(engine, connection) if dispatch.before_cursor_execute or \
                dispatch.after_cursor_execute else None
            rows, _ = _run(dispatch, shown, dialect, connection.dbapi_connection, connection.invalidate, sql,
                           _parameters(values, names))
            return rows[0] if rows else None
        finally:
            if connection.dbapi_connection is not None:
                dialect.reset_isolation_level(connection.dbapi_connection)
            connection.close()


class PreparedRead:
    """A SELECT compiled once and run again on the DBAPI cursor of a session's connection, without
    SQLAlchemy's execution layer (0.25 to 0.3 ms of CPU a statement, three times the driver's own
    work): its rows are named tuples of its columns' keys, with the values its column types make of
    what the driver gives (as SQLAlchemy's rows have them). `prepare` gives None for a statement
    whose parameters a type converts or whose SQL is completed at run time (expanding IN): those
    run through SQLAlchemy. Parameters named in `run`'s keywords are given then."""

    def __init__(self, sql: str, values: dict[str, Any], names: tuple[str, ...] | None, keys: tuple[str, ...],
                 types: list[sa.types.TypeEngine]):
        self._sql, self._values, self._names, self._types = sql, values, names, types
        self._row = collections.namedtuple("Row", keys)
        self._processors: list[Callable[[Any], Any] | None] | None = None  # once the driver has told its types

    @classmethod
    def prepare(cls, statement: sa.Select, dialect: sa.Dialect) -> PreparedRead | None:
        compiled = statement.compile(dialect=dialect)
        if compiled.post_compile_params or any(bind.type.dialect_impl(dialect).bind_processor(dialect) is not None
                                               for bind in compiled.binds.values()):
            return None
        keys = tuple(statement.selected_columns.keys())
        if len(set(keys)) != len(keys) or not all(key.isidentifier() and not key.startswith("_") for key in keys):
            return None
        return cls(compiled.string, compiled.construct_params(),
                   tuple(compiled.positiontup) if compiled.positional else None, keys,
                   [column.type for column in statement.selected_columns])

    def run(self, session: Session, **values) -> list[tuple]:
        connection = session.connection()
        dialect, fairy = connection.dialect, connection.connection
        raw, description = _run(connection.dispatch, connection, dialect, fairy.dbapi_connection,
                                connection.invalidate, self._sql, _parameters({**self._values, **values}, self._names))
        if self._processors is None and description:
            # By the driver's type codes, as SQLAlchemy chooses its result processors.
            self._processors = [type_.dialect_impl(dialect).result_processor(dialect, column[1])
                                for type_, column in zip(self._types, description, strict=True)]
        processors = self._processors or []
        if not any(processors):
            return [self._row(*row) for row in raw]
        return [self._row(*(process(value) if process else value for process, value in zip(processors, row,
                                                                                        strict=True)))
                for row in raw]
