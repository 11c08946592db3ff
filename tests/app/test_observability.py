"""Health, readiness, metrics, request ids and structured logs: what an operator relies on."""
from __future__ import annotations

import json
import logging
import re

from app import create_app
from app.config import Config
from app.observability import JsonFormatter
from tests.serving import Api, Process, clean_environment, free_port, wait_until


def test_health_and_readiness_need_no_token(as_account):
    anonymous = as_account(None)
    assert anonymous.get("/healthz").get_json() == {"status": "ok"}
    assert anonymous.get("/readyz").get_json() == {"status": "ok", "database": "ok"}


def test_readiness_fails_when_the_database_does_not_answer(tmp_path):
    app = create_app(Config(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
                            secret_key="k" * 40, data_dir=tmp_path))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert app.test_client().get("/healthz").status_code == 200


def test_metrics_count_requests_by_route_and_status(alice, as_account):
    alice.get("/1/services")
    alice.get("/1/services/unknown")
    text = as_account(None).get("/metrics").get_data(as_text=True)
    assert 'marketplace_http_requests_total{method="GET",route="/1/services",status="200"} 1.0' in text
    assert 'marketplace_http_requests_total{method="GET",route="/1/services/<service_id>",status="404"} 1.0' in text
    assert 'marketplace_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/1/services"}' in text


def test_a_request_id_is_kept_or_made_and_returned(alice, as_account):
    assert alice.get("/1/services", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = as_account(None).get("/1/services").headers["X-Request-ID"]
    assert len(made) == 32
    for unsafe in ("has spaces; and=signs", "x" * 129):
        replaced = alice.get("/1/services", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
        assert replaced != unsafe and len(replaced) == 32


def test_each_request_logs_one_structured_line(alice, caplog):
    with caplog.at_level(logging.INFO, logger="marketplace.access"):
        alice.get("/1/services", headers={"X-Request-ID": "req-1"})
    record = next(r for r in caplog.records if r.name == "marketplace.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["http"] == {"method": "GET", "route": "/1/services", "path": "/1/services", "status": 200,
                            "duration_ms": line["http"]["duration_ms"], "request_id": "req-1", "account": "alice"}
    assert line["level"] == "INFO"


MULTIPROCESS_SCRIPT = """
import sys
from app import create_app
from app.config import Config
app = create_app(Config(database_url=sys.argv[1], secret_key="s" * 40))
client = app.test_client()
for _ in range(3):
    client.get("/healthz")
print(client.get("/metrics").get_data(as_text=True))
"""


def test_metrics_are_summed_across_gunicorn_workers_in_multiprocess_mode(tmp_path):
    import os
    import subprocess
    import sys
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    database = f"sqlite:///{tmp_path / 'm.db'}"
    runs = [subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRIPT, database], env=env, capture_output=True,
                           text=True, check=True).stdout for _ in range(2)]
    line = 'marketplace_http_requests_total{method="GET",route="/healthz",status="200"}'
    assert f"{line} 3.0" in runs[0]
    assert f"{line} 6.0" in runs[1]  # the second process reports both processes' requests
    assert any(folder.iterdir())


def test_the_worker_serves_health_readiness_and_metrics(app, config):
    import json
    import socket
    import urllib.request

    from app.worker import Worker
    from app.worker.health import health_app, serve_health
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    worker = Worker(app.extensions["database"], config)
    serve_health(health_app(app.extensions["database"], worker.backend, worker.metrics), "127.0.0.1", port)
    worker.run_once()

    def get(path):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    assert get("/healthz") == (200, json.dumps({"status": "ok"}))
    status, body = get("/readyz")
    assert status == 200 and json.loads(body) == {"status": "ok", "backend": "ok", "database": "ok"}
    status, metrics = get("/metrics")
    assert "marketplace_order_submissions_total 0.0" in metrics
    assert "# TYPE marketplace_orders gauge" in metrics


UTC_MILLISECONDS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def serve_production(tmp_path, **settings: str) -> list[str]:
    """Start `marketplace serve --production`, make one request, stop it: its output lines."""
    port = free_port()
    env = clean_environment(tmp_path, MARKETPLACE_WEB_WORKERS="1", MARKETPLACE_SANDBOX="none", **settings)
    log = tmp_path / "serve.log"
    process = Process(["serve", "--production", "--port", str(port)], env, tmp_path, log).start()
    try:
        api = Api(f"http://127.0.0.1:{port}", "")
        wait_until(api.answers, 60, "the server answering")
        assert api.call("GET", "/1/services")[0] == 401
    finally:
        process.stop()
    return log.read_text().splitlines()


def test_production_json_logs_are_one_object_per_line_gunicorns_too(tmp_path):
    entries = [json.loads(line) for line in serve_production(tmp_path, MARKETPLACE_LOG_FORMAT="json")]
    assert entries and all(isinstance(entry, dict) for entry in entries)
    assert all(re.fullmatch(UTC_MILLISECONDS, entry["time"]) for entry in entries), entries
    assert {"gunicorn.error", "marketplace.access"} <= {entry["logger"] for entry in entries}, entries
    [access] = [entry["http"] for entry in entries if entry.get("http", {}).get("route") == "/1/services"]
    assert access["status"] == 401 and access["request_id"]


def test_production_text_logs_are_timestamped_and_gunicorn_needs_no_writable_home(tmp_path):
    # As on a read-only root filesystem: neither $HOME nor $XDG_RUNTIME_DIR can hold a socket.
    (tmp_path / "a-file").touch()
    lines = serve_production(tmp_path, HOME=str(tmp_path / "a-file" / "home"), XDG_RUNTIME_DIR="")
    assert lines and all(re.match(UTC_MILLISECONDS + " ", line) for line in lines), lines
    assert any("gunicorn.error" in line for line in lines), lines
    assert not [line for line in lines if " WARNING " in line or " ERROR " in line], lines


def test_the_worker_logs_one_json_object_per_line(tmp_path):
    port = free_port()
    env = clean_environment(tmp_path, MARKETPLACE_LOG_FORMAT="json", MARKETPLACE_WORKER_PORT=str(port),
                            MARKETPLACE_SANDBOX="none")
    assert Process(["db", "upgrade"], env, tmp_path, tmp_path / "upgrade.log").start().process.wait(60) == 0
    log = tmp_path / "worker.log"
    worker = Process(["worker", "--host", "127.0.0.1"], env, tmp_path, log).start()
    try:
        wait_until(Api(f"http://127.0.0.1:{port}", "").answers, 60, "the worker's health server answering")
    finally:
        worker.stop()
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(entry["message"].startswith("worker running against") for entry in entries), entries


def test_the_healthcheck_command_passes_for_an_api_or_a_worker_and_fails_when_none_answers(app, config):
    from click.testing import CliRunner

    from app.cli import main
    from app.worker import Worker
    from app.worker.health import health_app, serve_health
    listening, silent = free_port(), free_port()
    worker = Worker(app.extensions["database"], config)
    serve_health(health_app(app.extensions["database"], worker.backend, worker.metrics), "127.0.0.1", listening)

    def healthcheck(api_port: int, worker_port: int):
        return CliRunner().invoke(main, ["healthcheck", "--api-port", str(api_port), "--timeout", "2"],
                                  env={"MARKETPLACE_WORKER_PORT": str(worker_port)})
    assert healthcheck(listening, silent).exit_code == 0  # the API's container
    assert healthcheck(silent, listening).exit_code == 0  # the worker's
    failed = healthcheck(silent, 0)
    assert failed.exit_code == 1 and f"port {silent}" in failed.output
