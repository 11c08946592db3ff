"""The migrations at head build exactly the models' schema, on each database."""
from __future__ import annotations

from app.db import make_engine
from app.migrate import pending_changes


def test_migrations_at_head_equal_the_models(database_url):
    engine = make_engine(database_url)
    try:
        assert pending_changes(engine) == []
    finally:
        engine.dispose()
