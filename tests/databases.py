"""Temporary PostgreSQL databases for the suite and the benchmarks, on the server named by
MARKETPLACE_TEST_POSTGRES_URL: each is created empty and dropped afterwards."""
from __future__ import annotations

import contextlib
import os
import uuid

import sqlalchemy as sa

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class NoPostgres(Exception):
    """No PostgreSQL server answers; the message says where and why."""


def server_url() -> sa.URL:
    url = os.environ.get("MARKETPLACE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    return sa.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))


@contextlib.contextmanager
def temporary_postgres_database(prefix: str = "marketplace_test"):
    """The URL of a new, empty database, dropped with its connections at the end."""
    server = server_url()
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        raise NoPostgres(f"no PostgreSQL server answers at {server.render_as_string()}: "
                         f"{str(error.orig).strip().splitlines()[0]}") from None
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
