"""Two API processes (the production server) and one worker on one PostgreSQL database: an
order placed through one API is followed through the other, whose stream is woken by the
worker's NOTIFY; a stream resumed on the first API gets exactly what it missed."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.app.orders.test_order_events import Follower, same, until
from tests.databases import NoPostgres, temporary_postgres_database
from tests.serving import ROOT, Api, Process, clean_environment, free_port, token_for, wait_until

PRINT_ARGS = "import sys, time; print(' '.join(sys.argv[1:]), flush=True); time.sleep(0.5); print('done')"
SERVICE = {"name": "Echo", "description": "Prints its text", "provider-id": "urn:acme:provider:p",
           "account-id": "urn:acme:account:p", "parameters": [{"name": "text", "type": "string"}],
           "workflow": {"type": "basic", "basic": {"image": "python:3.11-slim",
                                                   "command": ["python3", "-c", PRINT_ARGS]}}}


@pytest.fixture
def postgres_database():
    try:
        with temporary_postgres_database("marketplace_events") as url:
            yield url
    except NoPostgres as error:
        pytest.skip(str(error))


@pytest.fixture
def two_apis_and_a_worker(postgres_database, tmp_path):
    env = clean_environment(tmp_path, DATABASE_URL=postgres_database,
                            MARKETPLACE_SECRET_KEY="a-secret-shared-by-every-process-of-the-test",
                            MARKETPLACE_WEB_WORKERS="1", MARKETPLACE_WORKER_PORT="0")
    subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    ports = [free_port(), free_port()]
    processes = [Process(["serve", "--production", "--port", str(port)], env, tmp_path, tmp_path / f"api-{port}.log")
                 for port in ports]
    processes.append(Process(["worker", "--interval", "0.2"], env, tmp_path, tmp_path / "worker.log"))
    for process in processes:
        process.start()
    token = token_for("bob", env, tmp_path)
    apis = [Api(f"http://127.0.0.1:{port}", token) for port in ports]
    try:
        for api in apis:
            wait_until(api.answers, 60, "the API answering")
        yield apis
    finally:
        for process in processes:
            process.stop()


def test_an_event_written_through_one_api_is_streamed_by_the_other(two_apis_and_a_worker):
    first, second = two_apis_and_a_worker
    status, service = first.call("POST", "/1/services", SERVICE)
    assert status == 201, service
    wait_until(lambda: first.call("GET", f"/1/services/{service['id']}")[1]["status"] == "ready", 60, "a ready service")

    status, order = first.call("POST", "/1/orders", {"service-id": service["id"],
                                                     "parameters": [{"name": "text", "value": "across"}]})
    assert status == 201, order
    path = f"/1/orders/{order['id']}/events"
    early = Follower(second.base, path, bearer=second.token, stop_after=2)
    following = Follower(second.base, path, bearer=second.token)
    until(following.ended.is_set, seconds=90, what="the stream's end on the second API")
    assert following.statuses()[0] == "pending" and following.statuses()[-1] == "succeeded"
    assert any(kind == "logs" for _id, kind, _data in following.events)

    until(early.ended.is_set, what="the early stream's two events")
    resumed = Follower(first.base, path, bearer=first.token, headers={"Last-Event-ID": str(early.events[-1][0])})
    until(resumed.ended.is_set, what="the resumed stream's end on the first API")
    assert same(early.events + resumed.events) == same(following.events)
