"""Order start-up on the embedded default (`marketplace serve`: SQLite, local backend, the worker
in the API's process): the time from POST /1/orders to `succeeded` for the command `true`, one
order at a time, and how long a burst of orders placed at once takes until all have ended, with
the CPU time the server's process spent on the burst (its requests and its worker share one
interpreter lock, so that is what bounds it on a busy machine more than any wall time).

    python -m tests.bench.order_start      (BENCH_ORDERS, BENCH_BURST set the counts)
"""
from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from tests.serving import ROOT, Api, Process, clean_environment, free_port, token_for, wait_until

ORDERS = int(os.environ.get("BENCH_ORDERS", 20))
BURST = int(os.environ.get("BENCH_BURST", 200))
SERVICE = {"name": "True", "description": "Does nothing", "provider-id": "urn:bench:provider:p",
           "account-id": "urn:bench:account:p", "parameters": [],
           "workflow": {"type": "basic", "basic": {"image": "debian:12", "command": ["true"]}}}
FINISHED = {"succeeded", "failed", "error", "cancelled"}


def _status(api: Api, order_id: str) -> str:
    return api.call("GET", f"/1/orders/{order_id}")[1]["status"]


def _place(api: Api, service_id: str) -> str:
    status, order = api.call("POST", "/1/orders", {"service-id": service_id, "parameters": []})
    assert status == 201, order
    return order["id"]


def one_order(api: Api, service_id: str) -> float:
    """Seconds from the POST to `succeeded`, read by polling the order every millisecond."""
    began = time.perf_counter()
    order_id = _place(api, service_id)
    while (status := _status(api, order_id)) not in FINISHED:
        assert time.perf_counter() - began < 60, f"order {order_id} did not end in a minute"
        time.sleep(0.001)
    assert status == "succeeded", status
    return time.perf_counter() - began


def burst(api: Api, service_id: str, count: int) -> tuple[float, float]:
    """Seconds from the first POST until all `count` orders were placed (8 clients), and until all
    had ended."""
    began = time.perf_counter()
    ids: list[str] = []
    lock = threading.Lock()

    def place(n: int) -> None:
        for _ in range(n):
            order_id = _place(api, service_id)
            with lock:
                ids.append(order_id)
    threads = [threading.Thread(target=place, args=(count // 8 + (i < count % 8),)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    placed = time.perf_counter() - began
    # One unfinished order asked for, every 50 ms: a poll that lists them all, often, costs the
    # server more than the orders themselves.
    wait_until(lambda: not api.call("GET", "/1/orders?limit=1&$select=status&$filter=finished-at%20eq%20null")[1][
        "orders"], seconds=120, what="the burst's end", interval=0.05)
    return placed, time.perf_counter() - began


def succeeded(api: Api, count: int) -> int:
    """How many of the last `count` orders succeeded (all of them have ended)."""
    statuses = [order["status"] for order in api.call("GET", f"/1/orders?limit={count}&$select=status")[1]["orders"]]
    assert len(statuses) == count and all(status in FINISHED for status in statuses), statuses
    return statuses.count("succeeded")


def cpu_seconds(pid: int) -> float:
    """User and system time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


def measure(orders: int = ORDERS, burst_size: int = BURST) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        port = free_port()
        env = clean_environment(data, MARKETPLACE_MAX_ACTIVE_ORDERS_PER_ACCOUNT=str(burst_size + orders + 10),
                                MARKETPLACE_LOG_LEVEL="WARNING")
        server = Process(["serve", "--port", str(port)], env, ROOT, data / "serve.log").start()
        try:
            api = Api(f"http://127.0.0.1:{port}", token_for("bench", env, ROOT))
            wait_until(api.answers, what="the API")
            status, service = api.call("POST", "/1/services", SERVICE)
            assert status == 201, service
            wait_until(lambda: api.call("GET", f"/1/services/{service['id']}")[1]["status"] == "ready",
                       what="the service ready")
            one_order(api, service["id"])  # warm up
            samples = [one_order(api, service["id"]) for _ in range(orders)]
            cpu_before = cpu_seconds(server.process.pid)
            placed, burst_seconds = burst(api, service["id"], burst_size)
            burst_cpu = cpu_seconds(server.process.pid) - cpu_before
            ended_well = succeeded(api, burst_size)
        finally:
            server.stop()
    return {"median": statistics.median(samples), "p90": sorted(samples)[int(len(samples) * 0.9)],
            "placed": placed, "burst": burst_seconds, "succeeded": ended_well, "burst_size": burst_size,
            "burst_cpu": burst_cpu}


def report(result: dict[str, float]) -> None:
    print(f"order placed -> succeeded (command true, embedded default): median {result['median'] * 1000:.0f} ms, "
          f"p90 {result['p90'] * 1000:.0f} ms; {result['burst_size']} orders at once (8 clients): placed in "
          f"{result['placed']:.2f} s, all ended {result['burst']:.2f} s after the first POST "
          f"({result['burst'] - result['placed']:.2f} s after the last; {result['succeeded']} succeeded); "
          f"the server's CPU for the burst {result['burst_cpu']:.2f} s "
          f"({result['burst_cpu'] / result['burst_size'] * 1000:.1f} ms per order)")


if __name__ == "__main__":
    report(measure())
