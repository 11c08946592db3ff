"""gunicorn behind `marketplace serve --production`, configured from the environment."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from app.config import Config


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
        }
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app
