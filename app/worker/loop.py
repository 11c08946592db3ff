"""The reconcile loop: takes one idempotent step at a time for everything that waits."""
from __future__ import annotations

import logging
import threading
import time

from app.artifacts.logic import expire_products
from app.artifacts.resumable import remove_stale_uploads
from app.artifacts.stores import make_store
from app.config import Config
from app.db import Database
from app.migrate import refresh_statistics
from app.work_signal import WORK
from app.worker.health import WorkerMetrics
from app.worker.order_data import OrderData
from app.worker.orders import observe_running_orders, stop_orphaned_workloads, submit_pending_orders
from app.worker.services import build_pending_services
from app.worker.wakeup import watch_other_processes
from app.worker.webhooks import Dispatcher
from workflows.backends.base import Backend
from workflows.backends.local import LocalBackend

log = logging.getLogger(__name__)
ORPHAN_CHECK_SECONDS = 300
EXPIRY_CHECK_SECONDS = 60  # products past their retention period


def make_backend(config: Config) -> Backend:
    if config.backend == "kubernetes":
        from workflows.backends.cluster import ClusterClient, load_api_client
        from workflows.backends.kubernetes import KubernetesBackend
        return KubernetesBackend(ClusterClient(load_api_client(), config.compile.namespace), config.compile)
    return LocalBackend(config.compile, config.runs_dir, config.limits, config.sandbox)


class Worker:
    def __init__(self, database: Database, config: Config, backend: Backend | None = None):
        self._database = database
        self._config = config
        self.backend = backend or make_backend(config)
        self.metrics = WorkerMetrics()
        self._next_orphan_check = 0.0  # at the first pass: what a crash may have left running
        self._data = OrderData(make_store(config), config.secret_key, config.compile, config.artifacts)
        self._next_expiry = 0.0

    def run_once(self) -> int:
        """One pass over the waiting work; returns how many steps it took."""
        session = self._database.sessions()
        try:
            steps = (build_pending_services(session, self.backend.workflow_types, self._config.compile)
                     + submit_pending_orders(session, self.backend, self._data, self.metrics)
                     + observe_running_orders(session, self.backend, self._data, metrics=self.metrics))
            if time.monotonic() >= self._next_orphan_check:
                self._next_orphan_check = time.monotonic() + ORPHAN_CHECK_SECONDS
                stop_orphaned_workloads(session, self.backend)
            if time.monotonic() >= self._next_expiry:
                self._next_expiry = time.monotonic() + EXPIRY_CHECK_SECONDS
                steps += expire_products(session, self._data.store)
                steps += remove_stale_uploads(session, self._data.store, self._config.artifacts)
                refresh_statistics(self._database.engine)  # for the planner, as the data grows
            return steps
        finally:
            session.close()

    def run(self, stop: threading.Event, interval: float = 1.0, other_processes: bool = True) -> None:
        """Pass after pass until `stop`; between passes it sleeps `interval` unless woken: by work
        stored in this process or (`other_processes`) in another, or by a workload's change."""
        threading.Thread(target=lambda: (stop.wait(), WORK.notify()), name="worker-stop", daemon=True).start()
        if other_processes:
            watch_other_processes(self._database.engine.url.render_as_string(hide_password=False), WORK, stop)
        self.backend.start(stop, WORK.notify)
        Dispatcher(self._database, self._config, metrics=self.metrics).start(stop)  # beside the loop, never in it
        while not stop.is_set():
            generation = WORK.generation()  # before the pass: what comes during it wakes the next at once
            try:
                busy = self.run_once()
                self.metrics.passes.labels("ok").inc()
            except Exception:  # a failed pass is logged and retried; the loop must not die
                log.exception("worker pass failed")
                self.metrics.passes.labels("failed").inc()
                busy = 0
            self.metrics.last_pass = time.monotonic()
            if not busy:
                WORK.wait(generation, interval)


def start_in_background(database: Database, config: Config) -> threading.Event:
    """The embedded mode: the same loop in a daemon thread of `marketplace serve`, woken in-process
    by the API's commits (and on PostgreSQL by other processes' too)."""
    stop = threading.Event()
    other_processes = database.engine.dialect.name == "postgresql"
    threading.Thread(target=Worker(database, config).run, args=(stop, 1.0, other_processes), name="worker",
                     daemon=True).start()
    return stop
