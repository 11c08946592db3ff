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
