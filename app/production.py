"""gunicorn behind `marketplace serve --production`, configured from the environment."""
from __future__ import annotations

import os

from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from prometheus_client import multiprocess

from app.config import Config
from app.observability import MULTIPROCESS_ENV
from app.server_errors import use_json_errors_in_gunicorn


def _forget_worker_metrics(_server, worker) -> None:
    """A gunicorn worker ended: drop its live gauges from the multiprocess metrics folder."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(worker.pid)


class _RootHandlerLogger(glogging.Logger):
    """gunicorn's error and access lines go to the root handler of app.observability, so they
    share the format of every other line (one JSON object each in json mode)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True


class ProductionServer(BaseApplication):
    def __init__(self, app, config: Config, bind: str):
        self._app = app
        self._options = {
            "bind": bind,
            "workers": config.web.workers,
            # gthread: a thread per request. An event stream holds its thread for as long as it is
            # followed, so each process has threads for its bounded number of streams beyond those
            # of ordinary requests, which streams therefore never starve (a stream past the bound is
            # a 503). Idle streams cost a sleeping thread each; gevent would hold more per process
            # but needs psycopg and every blocking library patched, which is a larger change.
            "threads": config.web.threads + config.events.per_process,
            "worker_class": "gthread",
            "timeout": config.web.timeout,
            "graceful_timeout": config.web.graceful_timeout,
            "accesslog": None,  # our own access log line carries the request id and route
            "forwarded_allow_ips": "*",
            "child_exit": _forget_worker_metrics,
            "logger_class": _RootHandlerLogger,
            # Nothing here uses gunicornc; its socket would need a writable $HOME or
            # $XDG_RUNTIME_DIR, which a read-only root filesystem does not give.
            "control_socket_disable": True,
        }
        use_json_errors_in_gunicorn()
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app
