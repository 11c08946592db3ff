"""Request ids, one structured log line per request, and Prometheus metrics."""
from __future__ import annotations

import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime

import flask
import pythonjsonlogger.json
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REQUEST_ID_HEADER = "X-Request-ID"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own switch to multiprocess mode
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
access_log = logging.getLogger("marketplace.access")


class Metrics:
    """The application's metrics, in a registry of its own (one per app, so tests do not clash)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("marketplace_http_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("marketplace_http_request_duration_seconds", "Time to answer a request",
                                 ["method", "route"], registry=self.registry)


def _request_id() -> str:
    """Keep the caller's id when it is safe to log, else make one."""
    given = flask.request.headers.get(REQUEST_ID_HEADER, "")
    return given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _start():
    flask.g.request_id = _request_id()
    flask.g.started = time.perf_counter()


def _finish(response: flask.Response) -> flask.Response:
    started = flask.g.pop("started", None)
    if started is None:
        return response
    duration = time.perf_counter() - started
    route = flask.request.url_rule.rule if flask.request.url_rule else "<unmatched>"
    metrics: Metrics = flask.current_app.extensions["metrics"]
    metrics.requests.labels(flask.request.method, route, str(response.status_code)).inc()
    metrics.latency.labels(flask.request.method, route).observe(duration)
    response.headers[REQUEST_ID_HEADER] = flask.g.request_id
    if access_log.isEnabledFor(logging.INFO):
        access_log.info("request", extra={"http": {
            "method": flask.request.method, "route": route, "path": flask.request.path,
            "status": response.status_code, "duration_ms": round(duration * 1000, 2),
            "request_id": flask.g.request_id, "account": flask.g.get("account")}})
    return response


def metrics_view():
    registry = flask.current_app.extensions["metrics"].registry
    if os.environ.get(MULTIPROCESS_ENV):
        # Several gunicorn workers: each writes its samples to files in that folder; the
        # answer sums all of them, whichever worker serves the scrape.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return flask.Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: flask.Flask) -> None:
    app.extensions["metrics"] = Metrics()
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", metrics_view)


def _utc_milliseconds(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object per line, for log collectors in production; a record's extras (`http`,
    `order_id`, ...) become keys of their own."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", json_default=str,
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger",
                                        "exc_info": "exception"})

    def formatTime(self, record, datefmt=None):
        return _utc_milliseconds(record)


class TextFormatter(logging.Formatter):
    """Readable lines for the embedded mode."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record, datefmt=None):
        return _utc_milliseconds(record)

    def format(self, record: logging.LogRecord) -> str:
        http = getattr(record, "http", None)
        if http:
            return (f"{self.formatTime(record)} {http['method']} {http['path']} {http['status']} "
                    f"{http['duration_ms']}ms id={http['request_id']}")
        return super().format(record)


def configure_logging(log_format: str, level: str) -> None:
    """Every line, ours and gunicorn's (see app.production), goes through this one handler."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Our access line already says what werkzeug's would, with the request id.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
