"""Benchmark of the execution engine (issue 5), on PostgreSQL.

1. The reconcile loop under load: 10,000 running orders and 50,000 synthetic Job status events
   fed through the watch's own entry point (`KubernetesBackend.apply_event`) while the worker
   loop runs: events applied per second, and the median delay from an order's final event to
   its stored end (the `finished-at` written by the pass that stored it).
2. The cost to compile and validate one order (median µs): basic → Job, argo → Workflow.
Run: `make bench-execution` (or `python -m tests.bench.bench_execution`).
"""
from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from app.config import Config
from app.db import Database
from app.migrate import upgrade
from app.orders.models import Order
from app.worker import Worker
from tests.bench.bench_lists import postgres_database
from workflows.backends.cluster import JOBS
from workflows.backends.kubernetes import KubernetesBackend
from workflows.compile import compile_order, dry_run
from workflows.names import object_annotations, object_labels, object_name
from workflows.settings import CompileSettings

ORDERS = int(os.environ.get("BENCH_ORDERS", 10_000))
EVENTS_PER_ORDER = 5  # four progress updates, then the Complete condition
RUNS = int(os.environ.get("BENCH_RUNS", 200))
BASIC = {"type": "basic", "basic": {"image": "ghcr.io/acme/ndvi:1.2", "command": ["python", "-m", "ndvi"],
                                    "cpu": {"request": "250m", "limit": "1"}}}
ARGO_TEXT = (Path(__file__).parent.parent / "workflows" / "argo_examples" / "dag.yaml").read_text()


class NoPods:
    """The cluster seam's one call on this path: listing an ended order's pods (none here)."""

    def list(self, *_args):
        return [], None


def load_orders(database: Database) -> list[str]:
    now = datetime.now(UTC)
    ids = [f"urn:marketplace:order:{uuid.uuid4()}" for _ in range(ORDERS)]
    rows = [{"id": order_id, "account": "bench", "service_id": "urn:bench:service", "service_owner": "bench",
             "service_version": 1, "status": "executing", "parameters": [], "workflow": BASIC,
             "ordered_at": now, "started_at": now, "cancel_requested": False} for order_id in ids]
    with database.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(sa.insert(Order), rows[start:start + 5000])
    return ids


def job(order_id: str, version: int, complete: bool) -> dict:
    status = ({"conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}
              if complete else {"active": 1, "ready": version % 2})
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": object_name(order_id), "resourceVersion": str(version),
                         "labels": object_labels(order_id, "urn:bench:service"),
                         "annotations": object_annotations(order_id, "urn:bench:service")},
            "status": status}


def reconcile_under_load(url: str) -> None:
    database = Database(url)
    upgrade(database.engine)
    ids = load_orders(database)
    settings = CompileSettings()
    backend = KubernetesBackend(NoPods(), settings)
    worker = Worker(database, Config(database_url=url, secret_key="bench", backend="kubernetes"), backend=backend)
    final_event_at: dict[str, datetime] = {}
    fed = threading.Event()

    def feed() -> None:
        version = 0
        for round_ in range(EVENTS_PER_ORDER):
            for order_id in ids:
                version += 1
                complete = round_ == EVENTS_PER_ORDER - 1
                if complete:
                    final_event_at[order_id] = datetime.now(UTC)
                backend.apply_event(JOBS, "MODIFIED", job(order_id, version, complete))
        fed.set()

    started = time.perf_counter()
    feeder = threading.Thread(target=feed)
    feeder.start()
    passes = 0
    with database.engine.connect() as connection:
        def unfinished() -> int:
            return connection.execute(sa.select(sa.func.count()).select_from(Order)
                                      .where(Order.status == "executing")).scalar_one()
        while not fed.is_set() or unfinished():
            worker.run_once()
            passes += 1
            connection.rollback()
    elapsed = time.perf_counter() - started
    feeder.join()
    with database.engine.connect() as connection:
        finished = dict(connection.execute(sa.select(Order.id, Order.finished_at)).all())
    delays = sorted((finished[i] - final_event_at[i]).total_seconds() * 1000 for i in ids)
    events = ORDERS * EVENTS_PER_ORDER
    print(f"{ORDERS} orders, {events} events: all stored in {elapsed:.2f} s ({passes} worker passes) "
          f"→ {events / elapsed:,.0f} events/s applied")
    print(f"delay from an order's final event to its stored end: median {statistics.median(delays):.0f} ms, "
          f"p95 {delays[int(len(delays) * 0.95)]:.0f} ms, max {delays[-1]:.0f} ms")
    database.engine.dispose()


def median_us(action) -> float:
    action()
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1e6)
    return statistics.median(timings)


def compile_costs() -> None:
    settings = CompileSettings()
    parameters = [("scene", "S2A"), ("threshold", "0.3")]
    argo = {"type": "argo", "argo": ARGO_TEXT}
    order_id = "urn:marketplace:order:00000000-0000-4000-8000-000000000001"
    print(f"compile (median of {RUNS}): basic → Job "
          f"{median_us(lambda: compile_order(order_id, 's', BASIC, parameters, settings)):.0f} µs; "
          f"argo (a 40-line YAML DAG) → Workflow "
          f"{median_us(lambda: compile_order(order_id, 's', argo, [('scene', 'S2A')], settings)):.0f} µs")
    print(f"compile + strict schema validation (median of {RUNS}): basic → Job "
          f"{median_us(lambda: dry_run(order_id, 's', BASIC, parameters, settings)):.0f} µs; argo → Workflow "
          f"{median_us(lambda: dry_run(order_id, 's', argo, [('scene', 'S2A')], settings)):.0f} µs")


def main() -> int:
    compile_costs()
    with postgres_database() as url:
        if url is not None:
            reconcile_under_load(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
