"""Fixtures shared by the whole suite.

PostgreSQL: every test session gets a database of its own (created on the server named by
MARKETPLACE_TEST_POSTGRES_URL, dropped at the end), so parallel runs never share tables.
"""
from __future__ import annotations

import pytest

from tests.databases import NoPostgres, temporary_postgres_database


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a fresh, empty PostgreSQL database for this test session (skips if no server)."""
    try:
        with temporary_postgres_database() as url:
            yield url
    except NoPostgres as error:
        pytest.skip(str(error))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request):
    """For tests that run the server as a process: None (its embedded SQLite file), or a
    PostgreSQL database of the test's own."""
    if request.param == "sqlite":
        yield None
        return
    try:
        with temporary_postgres_database("marketplace_process") as url:
            yield url
    except NoPostgres as error:
        pytest.skip(str(error))


# --- the API on each database ----------------------------------------------------------------

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-signing"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated database per backend for the session; tests empty it after themselves."""
    from app.db import make_engine
    from app.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'marketplace.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def config(database_url, tmp_path):
    from app.config import Config

    return Config(database_url=database_url, secret_key=TEST_SECRET, data_dir=tmp_path)


@pytest.fixture
def app(config):
    from app import create_app
    from app.models import metadata

    app = create_app(config)
    yield app
    app.extensions["event_streams"].close()  # streams still followed by a test's client end
    database = app.extensions["database"]
    database.session.remove()
    with database.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    database.dispose()


class ApiClient:
    """The test client, calling as one account (or with no token when account is None)."""

    def __init__(self, client, token: str | None):
        self._client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self._client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api_url(app):
    """The app served over HTTP in a thread by the embedded default's server, for clients of
    their own (tus, the Job helpers)."""
    import threading

    from werkzeug.serving import make_server

    from app.embedded_server import EmbeddedRequestHandler

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=EmbeddedRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def as_account(app):
    from app.auth import SharedSecretVerifier

    verifier = SharedSecretVerifier(TEST_SECRET)
    return lambda account: ApiClient(app.test_client(), verifier.issue(account, 3600) if account else None)


@pytest.fixture
def alice(as_account):
    return as_account("alice")


@pytest.fixture
def bob(as_account):
    return as_account("bob")


@pytest.fixture
def ready_service(app, alice):
    """Alice publishes a service; the worker is stood in for by marking it ready."""
    from app.services.models import Service
    from tests.factories import service_description

    def make(**overrides):
        service = alice.post("/1/services", json=service_description(**overrides)).get_json()
        session = app.extensions["database"].sessions()
        with session.begin():
            session.get(Service, service["id"]).status = "ready"
        session.close()
        return service
    return make


@pytest.fixture
def stored(app):
    """Every row of every table, to show that a refused request changed nothing."""
    from app.models import metadata

    def snapshot() -> dict:
        with app.extensions["database"].engine.connect() as connection:
            return {table.name: sorted(map(repr, connection.execute(table.select())))
                    for table in metadata.sorted_tables}
    return snapshot


# --- artifact stores: the data folder's, and a real S3-protocol server ----------------------------

@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's standalone S3 server, in a process of its own, for the whole session."""
    from tests.storage_server import S3Server

    server = S3Server(tmp_path_factory.mktemp("s3") / "moto.log").start()
    yield server
    server.stop()


@pytest.fixture
def s3_settings(s3_server):
    """Settings of a new, empty bucket on the test S3 server."""
    from app.artifacts.s3 import S3Store

    settings = s3_server.settings()
    S3Store(settings).create_bucket()
    return settings


STORE_KINDS = ["folder", "s3"]


@pytest.fixture(params=STORE_KINDS)
def store(request, tmp_path):
    """Each artifact store, empty: a folder, and a bucket of its own on the S3 server (parts of
    the smallest size S3 allows, so that multipart content stays small)."""
    from app.artifacts.storage import FolderStore

    if request.param == "folder":
        return FolderStore(tmp_path / "artifacts")
    from app.artifacts.s3 import S3Store

    return S3Store(request.getfixturevalue("s3_settings"), part_bytes=5 * 1024 * 1024)
