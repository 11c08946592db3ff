"""Alembic, driven from code: the migrations ship inside the package, no alembic.ini needed."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


def _alembic_config(connection: sa.Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)
    refresh_statistics(engine)


def refresh_statistics(engine: sa.Engine) -> None:
    """SQLite's planner knows nothing of the rows until ANALYZE: without statistics it takes a
    filter that every row passes (status eq 'ready') for a selective one, and sorts every row
    instead of reading a page from the index of the sort. Sampled (~30 ms at 100k rows).
    (PostgreSQL keeps its own statistics.)"""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA analysis_limit=20000")
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def new_revision(engine: sa.Engine, message: str) -> None:
    """Write a migration for the difference between the models and the database at head."""
    with engine.begin() as connection:
        command.revision(_alembic_config(connection), message=message, autogenerate=True)


def pending_changes(engine: sa.Engine) -> list:
    """What autogenerate would write: empty when the migrations at head equal the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.models import metadata
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)
