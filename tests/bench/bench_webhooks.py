"""Benchmark of webhook deliveries (issue 14), on SQLite and PostgreSQL.

1. Throughput: ORDERS orders with a callback to a local receiver that answers 200 at once; the time
   from starting the dispatcher until every delivery has succeeded (deliveries a second).
2. Isolation: as many hanging receivers as the dispatcher has senders (every sender held until
   its timeouts), while the reconcile loop submits ORDERS more orders: the worker pass takes as
   long as without them. Run: `make bench-webhooks`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import http.server
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from app.auth import SharedSecretVerifier
from app.callback_urls import parse_networks
from app.config import AccountLimits, Config, WebhookSettings
from app.migrate import upgrade
from app.services.models import Service
from app.status import DeliveryStatus
from app.webhooks.models import WebhookDelivery
from app.worker import Worker
from app.worker.webhooks import Dispatcher
from tests.databases import NoPostgres, temporary_postgres_database
from tests.factories import basic_workflow, service_description
from tests.serving import wait_until

ORDERS = int(os.environ.get("BENCH_ORDERS", 200))
SECRET = "bench-secret-" + "x" * 40


def receiver(hang: threading.Event | None = None) -> tuple[str, http.server.ThreadingHTTPServer]:
    """A local receiver (answering 200, or holding every request until `hang` is set); the server's
    `received` counts the requests it has read."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                server.received += 1
            if hang is not None:
                hang.wait(60)
                return
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass
    lock = threading.Lock()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads, server.received = True, 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/hooks", server


def pending(app) -> int:
    with app.extensions["database"].engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.status == DeliveryStatus.PENDING))


def run(url: str, data_dir: Path) -> dict[str, float]:
    settings = WebhookSettings(allowed_networks=parse_networks("127.0.0.1/32"), connect_timeout_seconds=2,
                               read_timeout_seconds=20, poll_seconds=0.05)
    config = Config(database_url=url, secret_key=SECRET, data_dir=data_dir, webhooks=settings)
    app = create_app(config)
    upgrade(app.extensions["database"].engine)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {SharedSecretVerifier(SECRET).issue('bench', 3600)}"}
    service = client.post("/1/services", headers=headers, json=service_description(
        workflow=basic_workflow(command=["python3", "-c", "pass"]),
        parameters=[{"name": "scene", "type": "string", "optional": True}])).get_json()
    session = app.extensions["database"].sessions()
    with session.begin():
        session.get(Service, service["id"]).status = "ready"
    session.close()
    config = dataclasses.replace(config, accounts=AccountLimits(active_orders=10 * ORDERS))
    app.config["MARKETPLACE"] = config

    def place(count: int, callback: str) -> None:
        for _ in range(count):
            response = client.post("/1/orders", headers=headers, json={"service-id": service["id"],
                                                                       "callback": callback})
            assert response.status_code == 201, response.get_json()

    results = {}
    quick, quick_server = receiver()
    place(ORDERS, quick)
    stop = threading.Event()
    started = time.monotonic()
    Dispatcher(app.extensions["database"], config, app=app).start(stop)
    wait_until(lambda: not pending(app), 600, "every delivery sent")
    results["deliveries a second"] = ORDERS / (time.monotonic() - started)
    stop.set()

    worker = Worker(app.extensions["database"], config)
    cancel_all(app)
    place(ORDERS, quick)
    results["worker pass, no webhooks in flight (s)"] = timed_pass(worker)
    cancel_all(app)

    hang = threading.Event()
    hanging, hanging_server = receiver(hang)
    place(settings.concurrency, hanging)
    stop = threading.Event()
    Dispatcher(app.extensions["database"], config, app=app).start(stop)
    wait_until(lambda: hanging_server.received >= settings.concurrency, 60, "every sender held by the receiver")
    place(ORDERS, quick)
    results["worker pass, every sender held by a hanging receiver (s)"] = timed_pass(worker)
    stop.set()
    hang.set()
    for server in (quick_server, hanging_server):
        server.shutdown()
    app.extensions["event_streams"].close()
    app.extensions["database"].dispose()
    return results


def cancel_all(app) -> None:
    from app.orders.logic import cancel_order
    from app.orders.models import Order
    session = app.extensions["database"].sessions()
    for order_id in session.scalars(sa.select(Order.id).where(Order.status.in_(("pending",)))).all():
        cancel_order(session, "bench", order_id)
    session.close()


def timed_pass(worker: Worker) -> float:
    """The median of the passes that submit the pending orders (20 a pass)."""
    durations = []
    while True:
        started = time.monotonic()
        steps = worker.run_once()
        durations.append(time.monotonic() - started)
        if not steps:
            return statistics.median(durations)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print(f"{ORDERS} orders, one callback each")
        show("sqlite", run(f"sqlite:///{folder}/bench.db", Path(folder) / "sqlite"))
        with contextlib.suppress(NoPostgres), temporary_postgres_database("bench_webhooks") as url:
            show("postgresql", run(url, Path(folder) / "pg"))


def show(database: str, results: dict[str, float]) -> None:
    for name, value in results.items():
        print(f"{database:>10}  {name:<58} {value:8.2f}")


if __name__ == "__main__":
    main()
