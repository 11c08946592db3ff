"""Benchmark of the event streams (issue 14): how many concurrent streams one API replica (the
production server, `marketplace serve --production`, default settings) holds while ordinary
`GET /1/services/{id}` requests keep at least 80 % of their throughput without streams.

Streams follow an order that never ends (no worker runs); for each step of open streams the
throughput of CLIENTS threads calling GET /1/services/{id} for SECONDS is measured. PostgreSQL when
MARKETPLACE_TEST_POSTGRES_URL names a server, else the embedded SQLite. Run: `make bench-events`.
BENCH_STEPS (comma-separated stream counts), BENCH_SECONDS, BENCH_CLIENTS and the server's own
MARKETPLACE_WEB_* and MARKETPLACE_EVENT_STREAMS_PER_PROCESS settings change it."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.databases import NoPostgres, temporary_postgres_database
from tests.factories import service_description
from tests.serving import ROOT, Api, Process, clean_environment, free_port, token_for, wait_until

STEPS = [int(n) for n in os.environ.get("BENCH_STEPS", "0,16,32,64,96,128,160").split(",")]
SECONDS = float(os.environ.get("BENCH_SECONDS", 4))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", 4))
KEPT = 0.8


class Stream:
    """One followed stream in a thread of its own; `state` says whether the server took it."""

    def __init__(self, url: str, token: str):
        self.state = "connecting"
        self._stop = threading.Event()
        threading.Thread(target=self._run, args=(url, token), daemon=True).start()

    def _run(self, url: str, token: str) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(10, read=None)) as client, \
                    client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response:
                self.state = "open" if response.status_code == 200 else f"refused {response.status_code}"
                for _chunk in response.iter_raw():
                    if self._stop.is_set():
                        return
        except httpx.HTTPError as error:
            self.state = f"failed {type(error).__name__}"


def throughput(base: str, token: str, path: str) -> float:
    """GET requests per second answered 200, by CLIENTS threads for SECONDS."""
    counts, ends = [0] * CLIENTS, time.monotonic() + SECONDS

    def call(index: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            while time.monotonic() < ends:
                if client.get(path).status_code == 200:
                    counts[index] += 1
    threads = [threading.Thread(target=call, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / SECONDS


def run(database_url: str | None, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = clean_environment(data_dir, MARKETPLACE_SECRET_KEY="bench-secret-" + "x" * 40,
                            MARKETPLACE_LOG_LEVEL="WARNING", **({"DATABASE_URL": database_url} if database_url else {}))
    subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    port = free_port()
    server = Process(["serve", "--production", "--port", str(port)], env, data_dir, data_dir / "api.log").start()
    try:
        token = token_for("bench", env, data_dir)
        api = Api(f"http://127.0.0.1:{port}", token)
        wait_until(api.answers, 60, "the API answering")
        status, service = api.call("POST", "/1/services", service_description())
        assert status == 201, service
        make_ready(database_url or f"sqlite:///{data_dir / 'marketplace.db'}", service["id"])
        status, order = api.call("POST", "/1/orders", {"service-id": service["id"],
                                                       "parameters": [{"name": "scene", "value": "s"}]})
        assert status == 201, order
        measure(api, service["id"], order["id"], database_url)
    finally:
        server.stop()


def make_ready(url: str, service_id: str) -> None:
    """No worker runs: the service is marked ready, and the order stays pending, followed for ever."""
    import sqlalchemy as sa

    from app.db import make_engine
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE services SET status = 'ready' WHERE id = :id"), {"id": service_id})
    engine.dispose()


def measure(api: Api, service_id: str, order_id: str, database_url: str | None) -> None:
    path = f"/1/services/{service_id}"
    baseline = throughput(api.base, api.token, path)
    print(f"\nevent streams on {'PostgreSQL' if database_url else 'SQLite'}; GET {path} by {CLIENTS} clients, "
          f"{SECONDS:.0f} s a step")
    print(f"{'streams open':>12} {'refused':>8} {'GET/s':>8} {'kept':>6}")
    print(f"{0:>12} {0:>8} {baseline:>8.0f} {1:>6.0%}")
    streams: list[Stream] = []
    held, unbroken = 0, True  # open streams at the last step of an unbroken run of steps that kept KEPT

    def answered() -> bool:
        return all(s.state != "connecting" for s in streams)
    for step in [n for n in STEPS if n > 0]:
        streams += [Stream(f"{api.base}/1/orders/{order_id}/events", api.token) for _ in range(step - len(streams))]
        with contextlib.suppress(AssertionError):
            wait_until(answered, 30, "streams answered")
        opened = sum(s.state == "open" for s in streams)
        rate = throughput(api.base, api.token, path)
        kept = rate / baseline if baseline else 0
        print(f"{opened:>12} {len(streams) - opened:>8} {rate:>8.0f} {kept:>6.0%}")
        unbroken = unbroken and kept >= KEPT  # conservative: every smaller step kept it too
        if unbroken:
            held = opened
    print(f"one replica held {held} concurrent streams with ordinary requests at >= {KEPT:.0%} of their throughput "
          f"(streams past the server's bound are refused with 503)")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            with temporary_postgres_database("marketplace_bench") as url:
                run(url, Path(folder) / "pg")
        except NoPostgres as error:
            print(f"PostgreSQL skipped: {error}")
    with tempfile.TemporaryDirectory() as folder:
        run(None, Path(folder))


if __name__ == "__main__":
    main()
