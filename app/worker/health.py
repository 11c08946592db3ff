"""The worker's own small HTTP server (MARKETPLACE_WORKER_PORT, 8081): /healthz (the loop is
alive), /readyz (database reachable and the backend's watch running) and /metrics."""
from __future__ import annotations

import json
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from app.db import Database
from app.orders.models import Order

STALE_AFTER_SECONDS = 120  # a pass that has not ended for this long means the loop is stuck


class WorkerMetrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.submissions = Counter("marketplace_order_submissions_total", "Orders handed to the backend",
                                   registry=self.registry)
        self.backend_errors = Counter("marketplace_backend_errors_total",
                                      "Backend calls that failed (retried later)", registry=self.registry)
        self.passes = Counter("marketplace_worker_passes_total", "Reconcile passes", ["outcome"],
                              registry=self.registry)
        self.webhook_attempts = Counter("marketplace_webhook_attempts_total",
                                        "Webhook delivery attempts (succeeded, failed, refused)", ["outcome"],
                                        registry=self.registry)
        self.last_pass = time.monotonic()


class _StateCollector:
    """Orders by status (from the database) and watch restarts (from the backend), at scrape time."""

    def __init__(self, database: Database, backend):
        self._database, self._backend = database, backend

    def collect(self):
        orders = GaugeMetricFamily("marketplace_orders", "Orders by status", labels=["status"])
        try:
            with self._database.engine.connect() as connection:
                counts = sa.select(Order.status, sa.func.count()).group_by(Order.status)
                for status, count in connection.execute(counts):
                    orders.add_metric([status], count)
        except sa.exc.SQLAlchemyError:
            pass
        yield orders
        restarts = CounterMetricFamily("marketplace_watch_restarts", "Relists of the backend's watches",
                                       labels=["resource"])
        for watcher in getattr(self._backend, "watchers", []):
            restarts.add_metric([watcher.resource.plural], max(watcher.relists - 1, 0) + watcher.failures)
        yield restarts


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # probes every few seconds would flood the log
        pass


def health_app(database: Database, backend, metrics: WorkerMetrics):
    metrics.registry.register(_StateCollector(database, backend))

    def respond(start_response, status: str, body: dict):
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def app(environ, start_response):
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            stuck = time.monotonic() - metrics.last_pass > STALE_AFTER_SECONDS
            return respond(start_response, "503 Service Unavailable" if stuck else "200 OK",
                           {"status": "stuck" if stuck else "ok"})
        if path == "/readyz":
            checks = {"backend": "ok" if backend.healthy() else "not watching"}
            try:
                with database.engine.connect() as connection:
                    connection.execute(sa.text("select 1"))
                checks["database"] = "ok"
            except sa.exc.SQLAlchemyError as error:
                checks["database"] = type(error).__name__
            ready = all(value == "ok" for value in checks.values())
            return respond(start_response, "200 OK" if ready else "503 Service Unavailable",
                           {"status": "ok" if ready else "unavailable", **checks})
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(metrics.registry)]
        return respond(start_response, "404 Not Found", {"message": "not found"})
    return app


def serve_health(app, host: str, port: int) -> threading.Thread:
    server = make_server(host, port, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="worker-health", daemon=True)
    thread.start()
    return thread
