"""The database goes away mid-run: requests answer 503 with Retry-After in the one error shape,
the log says so once (no traceback per request), and the API answers 200 again when the
database is back, without a restart."""
from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from app import create_app
from app.auth import SharedSecretVerifier
from app.config import Config
from app.db import make_engine
from app.migrate import upgrade
from tests.conftest import TEST_SECRET, ApiClient
from tests.proxy import CuttableProxy
from tests.serving import wait_until


@pytest.fixture
def proxied_app(postgres_url, tmp_path):
    engine = make_engine(postgres_url)
    upgrade(engine)
    engine.dispose()
    url = sa.make_url(postgres_url)
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    app = create_app(Config(database_url=url.set(host="127.0.0.1", port=proxy.port).render_as_string(False),
                            secret_key=TEST_SECRET, data_dir=tmp_path))
    yield app, proxy
    proxy.cut()
    app.extensions["database"].dispose()


def test_requests_answer_503_while_the_database_is_away_then_200_without_a_restart(proxied_app, caplog):
    app, proxy = proxied_app
    client = ApiClient(app.test_client(), SharedSecretVerifier(TEST_SECRET).issue("alice", 3600))
    assert client.get("/1/services").status_code == 200

    proxy.cut()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        for path in ("/1/services", "/1/orders", "/1/services/x", "/1/services/x/orders"):
            for _ in range(3):
                response = client.get(path)
                assert response.status_code == 503, response.get_json()
                assert response.get_json() == {"message": "the database is unavailable; retry later"}
                assert int(response.headers["Retry-After"]) > 0
        assert client.post("/1/services", json={}).status_code in (422, 503)  # refused before or at the database
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.getMessage().split(",")[0] for record in errors] == ["database unavailable"]
    assert not any(record.exc_info for record in caplog.records)

    proxy.start()  # the same port, as a restarted database server would be
    with caplog.at_level(logging.INFO):
        wait_until(lambda: client.get("/1/services").status_code == 200, 30, "the API answering 200 again")
    assert any("database available again" in record.getMessage() for record in caplog.records)
    assert client.get("/1/orders").status_code == 200


def test_a_sqlite_database_locked_past_the_busy_timeout_answers_503_then_recovers(tmp_path, caplog):
    import sqlite3

    from tests.factories import service_description

    path = tmp_path / "marketplace.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    app = create_app(Config(database_url=f"sqlite:///{path}", secret_key=TEST_SECRET, data_dir=tmp_path))
    client = ApiClient(app.test_client(), SharedSecretVerifier(TEST_SECRET).issue("alice", 3600))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        with caplog.at_level(logging.INFO):
            response = client.post("/1/services", json=service_description())
        assert response.status_code == 503
        assert response.get_json() == {"message": "the database is unavailable; retry later"}
        assert int(response.headers["Retry-After"]) > 0
        assert not any(record.exc_info for record in caplog.records)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.post("/1/services", json=service_description()).status_code == 201
    app.extensions["database"].dispose()
