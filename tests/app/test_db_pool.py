"""A process's PostgreSQL connections are kept open once made: as many at once as the pool holds
are given back to it and used again, each the same server backend (a new one per request cost the
server a fork and the driver its prepared statements)."""
from __future__ import annotations

from app.db import POOL_SIZE, make_engine


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
