"""The database: declarative base, column types that behave alike on SQLite and PostgreSQL,
and the per-request session."""
from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, scoped_session, sessionmaker

log = logging.getLogger(__name__)
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5

# Stable constraint names, so Alembic migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class TagList:
    """`tags` as a plain list of strings, kept as ordered child rows (position, tag) in the
    model's `tag_rows` relationship; the row type is the relationship's own."""

    def __get__(self, obj, owner=None):
        return self if obj is None else [row.tag for row in obj.tag_rows]

    def __set__(self, obj, tags: list[str]) -> None:
        row_type = type(obj).tag_rows.property.mapper.class_
        obj.tag_rows = [row_type(position=i, tag=tag) for i, tag in enumerate(tags)]


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


JSONDocument = sa.JSON().with_variant(JSONB(), "postgresql")


ID_LENGTH = 255  # of a service's or an order's id (a URN) in a column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Revisioned:
    """A resource whose `revision` every change of what it shows bumps, in the transaction of the
    change (its ETag is made of it, so a conditional GET is answered after one indexed read).
    A row shown inside another resource says which in `REVISES`, (table, column of the id): a
    product, its order's."""

    revision: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")


@sa.event.listens_for(Session, "before_flush")
def _bump_revisions(session: Session, _context, _instances) -> None:
    # `revision + 1` in SQL, not in Python: two writers that read the same revision (the API
    # and the worker) still give two distinct ones.
    for instance in session.dirty:
        if isinstance(instance, Revisioned) and session.is_modified(instance):
            instance.revision = type(instance).revision + 1
    for instance in (*session.new, *session.dirty, *session.deleted):
        revises = getattr(type(instance), "REVISES", None)
        if revises is None or (instance in session.dirty and not session.is_modified(instance)):
            continue
        table_name, column = revises
        if (parent_id := getattr(instance, column)) is not None:
            table = Base.metadata.tables[table_name]
            session.connection().execute(
                sa.update(table).where(table.c.id == parent_id).values(revision=table.c.revision + 1))


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Under WAL (an in-memory database has none), a commit written to the log survives a crash of
    # the process without an fsync of its own (the log is synced at checkpoints): only a power
    # loss or an OS crash may undo the last commits, never corrupt the file. An fsync per commit
    # (~3 ms here) was held under the one write lock, which every writer queues for.
    if cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal":
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A process's connections, all kept open once made: SQLAlchemy's default bound (5 kept and 10 more
# at need) closed the 10 as soon as they were given back, so under steady load beyond 5 requests at
# once the server forked a backend for every few requests (about 45 new sessions a second in
# `make bench-api`), each with cold caches and no prepared statements. A 16th concurrent user
# waits for a connection as it did. MARKETPLACE_DATABASE_POOL_SIZE sets it (app.config).
POOL_SIZE = 15


def make_engine(url: str, pool_size: int = POOL_SIZE) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    timeout = {} if "connect_timeout" in url else {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=0, pool_recycle=RECYCLE_SECONDS,
                              connect_args=timeout)
    sa.event.listen(engine, "checkin", _note_checkin)
    sa.event.listen(engine, "checkout", _ping_if_idle)
    return engine


# Connections cut while the server was away are replaced without a restart, but without a round
# trip per checkout (pool_pre_ping): a connection in steady use is handed out as it is; one that
# sat idle for a while is pinged first, and a dead one is replaced (the pool retries the checkout).
# A connection that dies under a request ends it with 503, and the pool drops the others of its
# age; connections older than RECYCLE_SECONDS are replaced before the server or a proxy cuts them.
IDLE_PING_SECONDS = 10.0
RECYCLE_SECONDS = 1800
_CHECKED_IN = "marketplace_checked_in"


def _note_checkin(_dbapi_connection, record) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    if time.monotonic() - record.info.get(_CHECKED_IN, 0.0) < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as error:  # any failure of a ping: the connection is gone
        raise sa.exc.DisconnectionError(str(error)) from error


class Availability:
    """Whether the database answers: one log line when it stops (not a traceback per request),
    one when a statement succeeds again."""

    def __init__(self):
        self._down_since: float | None = None
        self._lock = threading.Lock()

    def lost(self, error: Exception) -> None:
        with self._lock:
            if self._down_since is None:
                self._down_since = time.monotonic()
                cause = str(getattr(error, "orig", None) or error).strip().splitlines()
                log.error("database unavailable, answering 503 until it is back: %s", cause[0] if cause else "")

    def answered(self, *_event) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is not None:
                log.warning("database available again after %.1f s", time.monotonic() - self._down_since)
                self._down_since = None


class Database:
    """An engine and a thread-scoped session, removed at the end of every request."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE):
        self.engine = make_engine(url, pool_size)
        self.availability = Availability()
        sa.event.listen(self.engine, "after_cursor_execute", self.availability.answered)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Plain reads (GET and HEAD requests) run without a transaction: no BEGIN, no ROLLBACK.
        self.read_sessions = sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                                          expire_on_commit=False)
        self.session: Session = scoped_session(self._request_session)

    def _request_session(self) -> Session:
        from flask import has_request_context, request
        if has_request_context() and request.method in ("GET", "HEAD"):
            return self.read_sessions()
        return self.sessions()

    def init_app(self, app) -> None:
        app.extensions["database"] = self
        app.teardown_appcontext(lambda _exc: self.session.remove())

    def dispose(self) -> None:
        self.session.remove()
        self.engine.dispose()
