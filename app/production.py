"""gunicorn behind `marketplace serve --production`, configured from the environment."""
from __future__ import annotations

import os

from gunicorn.app.base import BaseApplication
from prometheus_client import multiprocess

from app.config import Config
from app.observability import MULTIPROCESS_ENV
from app.server_errors import use_json_errors_in_gunicorn


def _forget_worker_metrics(_server, worker) -> None:
    """A gunicorn worker ended: drop its live gauges from the multiprocess metrics folder."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(worker.pid)


class ProductionServer(BaseApplication):
    def __init__(self, app, config: Config, bind: str):
        self._app = app
        self._options = {
            "bind": bind,
            "workers": config.web.workers,
            "threads": config.web.threads,
            "worker_class": "gthread",
            "timeout": config.web.timeout,
            "graceful_timeout": config.web.graceful_timeout,
            "accesslog": None,  # our own access log line carries the request id and route
            "forwarded_allow_ips": "*",
            "child_exit": _forget_worker_metrics,
        }
        use_json_errors_in_gunicorn()
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app
