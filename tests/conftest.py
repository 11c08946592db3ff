"""Fixtures shared by the whole suite.

PostgreSQL: every test session gets a database of its own (created on the server named by
MARKETPLACE_TEST_POSTGRES_URL, dropped at the end), so parallel runs never share tables.
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _server_url() -> str:
    url = os.environ.get("MARKETPLACE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a fresh, empty PostgreSQL database for this test session (skips if no server)."""
    server = sa.make_url(_server_url())
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server answers at {server.render_as_string()}: "
                    f"{str(error.orig).strip().splitlines()[0]}")
    name = f"marketplace_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
