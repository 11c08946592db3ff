"""SQLite's settings, on every connection the engine makes: a file database keeps its log ahead
(WAL) and syncs it at checkpoints, not at each commit; an in-memory one has no log to keep."""
from __future__ import annotations

from app.db import make_engine

SYNCHRONOUS_NORMAL = 1


def _pragmas(engine) -> list[tuple]:
    with engine.connect() as first, engine.connect() as second:
        return [tuple(connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in
                      ("journal_mode", "synchronous", "foreign_keys")) for connection in (first, second)]


def test_a_file_database_writes_ahead_and_syncs_at_checkpoints(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'marketplace.db'}")
    try:
        assert _pragmas(engine) == [("wal", SYNCHRONOUS_NORMAL, 1)] * 2
    finally:
        engine.dispose()


def test_an_in_memory_database_has_no_log_and_checks_foreign_keys():
    engine = make_engine("sqlite://")
    try:
        assert [(mode, foreign_keys) for mode, _, foreign_keys in _pragmas(engine)] == [("memory", 1)] * 2
    finally:
        engine.dispose()
