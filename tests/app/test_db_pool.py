"""A process's PostgreSQL connections (MARKETPLACE_DATABASE_POOL_SIZE of them) are kept open once
made: as many at once as the pool holds are given back to it and used again, each the same server
backend (a new one per request cost the server a fork and the driver its prepared statements)."""
from __future__ import annotations

import pytest

from app.config import Config, ConfigError
from app.db import POOL_SIZE, Database, make_engine


def _backends(connections) -> set[int]:
    return {connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() for connection in connections}


def test_the_connections_given_back_are_kept_open_and_used_again(postgres_url):
    engine = make_engine(postgres_url)
    try:
        connections = [engine.connect() for _ in range(POOL_SIZE)]
        backends = _backends(connections)
        for connection in connections:
            connection.close()
        assert engine.pool.checkedin() == POOL_SIZE
        again = [engine.connect() for _ in range(POOL_SIZE)]
        assert _backends(again) == backends
        for connection in again:
            connection.close()
    finally:
        engine.dispose()


def test_the_pool_size_is_a_setting(postgres_url, tmp_path):
    config = Config.from_env({"DATABASE_URL": postgres_url, "MARKETPLACE_DATA_DIR": str(tmp_path),
                              "MARKETPLACE_DATABASE_POOL_SIZE": "3"})
    database = Database(config.database_url, config.database_pool_size)
    try:
        assert database.engine.pool.size() == 3
    finally:
        database.dispose()
    with pytest.raises(ConfigError, match="MARKETPLACE_DATABASE_POOL_SIZE must be at least 1"):
        Config.from_env({"DATABASE_URL": postgres_url, "MARKETPLACE_DATA_DIR": str(tmp_path),
                         "MARKETPLACE_DATABASE_POOL_SIZE": "0"})
