"""Exactly once, whatever crashes: orders are placed while the server (or the worker alone) is
killed with SIGKILL at random moments and restarted, round after round. Each order appends its
id to a journal in its own folder when it starts and when it ends. At the end no order ran twice,
none is lost or stuck, and each final status agrees with what its process did.

MARKETPLACE_CRASH_ROUNDS sets the number of rounds (default 20); the seed is printed on failure."""
from __future__ import annotations

import os
import random
import threading
import time

import pytest

from tests.serving import Api, Process, clean_environment, free_port, token_for, wait_until
from workflows.backends.runs import RunFolder

ROUNDS = int(os.environ.get("MARKETPLACE_CRASH_ROUNDS", 20))
# While the worker is dead, orders pile up past the per-account default of waiting ones.
QUEUES_FREELY = {"MARKETPLACE_MAX_ACTIVE_ORDERS_PER_ACCOUNT": "100000"}
ORDER = r"""
import os, sys, time
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
order = os.environ["MARKETPLACE_ORDER_ID"]
with open("journal", "a") as journal:
    journal.write(f"start {order}\n")
print("started", flush=True)
time.sleep(float(args["--seconds"]))
with open("journal", "a") as journal:
    journal.write(f"end {order}\n")
print("ended", flush=True)
sys.exit(int(args["--code"]))
"""
SERVICE = {"name": "Journal", "description": "Writes a journal", "provider-id": "urn:acme:provider:p",
           "account-id": "urn:acme:account:p",
           "parameters": [{"name": "seconds", "type": "float"}, {"name": "code", "type": "int"}],
           "workflow": {"type": "basic", "basic": {"image": "python:3.11-slim", "command": ["python3", "-c", ORDER]}}}


class Consumer:
    """Places orders with Idempotency-Keys; a POST the crash left unanswered is sent again."""

    def __init__(self, api: Api, service_id: str, rng: random.Random):
        self.api, self.service_id, self.rng = api, service_id, rng
        self.bodies: dict[str, dict] = {}
        self.unanswered: set[str] = set()

    def place(self, key: str) -> None:
        body = self.bodies.setdefault(key, {"service-id": self.service_id, "parameters": [
            {"name": "seconds", "value": f"{self.rng.uniform(0.05, 1.5):.2f}"},
            {"name": "code", "value": str(self.rng.choice([0, 0, 3]))}]})
        status, answer = self.api.call("POST", "/1/orders", body, headers={"Idempotency-Key": key}, timeout=5)
        if status in (200, 201):
            self.unanswered.discard(key)
        else:
            assert status is None or status >= 500, (status, answer)  # only a dying server may not answer
            self.unanswered.add(key)

    def place_until(self, stop: threading.Event, round_number: int) -> None:
        for i in range(1000):
            if stop.wait(self.rng.uniform(0.0, 0.3)):
                return
            self.place(f"round-{round_number}-{i}")


def verify(api: Api, consumer: Consumer, runs_dir, seed: int) -> None:
    status, listing = api.call("GET", "/1/orders?limit=1000")
    assert status == 200, listing
    orders = listing["orders"]
    assert len(orders) == len(consumer.bodies), f"seed {seed}: {len(orders)} orders for {len(consumer.bodies)} keys"
    for order in orders:
        values = {p["name"]: p["value"] for p in order["parameters"]}
        journal = (RunFolder(runs_dir, order["id"]).work / "journal").read_text().splitlines()
        assert journal == [f"start {order['id']}", f"end {order['id']}"], f"seed {seed}: {order['id']} ran {journal}"
        expected = ("succeeded", None) if values["code"] == "0" else ("failed", "exited with code 3")
        assert (order["status"], order.get("status-message")) == expected, f"seed {seed}: {order}"
        logs = api.call("GET", f"/1/orders/{order['id']}/logs")[1]["items"]
        assert [line["message"] for line in logs] == ["started", "ended"], f"seed {seed}: {order['id']} logs {logs}"


def run_rounds(api: Api, victim: Process, consumer: Consumer, rng: random.Random) -> None:
    for round_number in range(ROUNDS):
        stop = threading.Event()
        placing = threading.Thread(target=consumer.place_until, args=(stop, round_number))
        placing.start()
        time.sleep(rng.uniform(0.2, 2.0))  # a random moment to crash at, not a wait for a condition
        victim.kill_group()
        stop.set()
        placing.join()
        victim.start()
        wait_until(api.answers, what="the API answers again")
        for key in sorted(consumer.unanswered):
            consumer.place(key)
        assert not consumer.unanswered


def all_finished(api: Api):
    status, listing = api.call("GET", "/1/orders?limit=1000&%24filter=finished-at%20eq%20null")
    return status == 200 and not listing["orders"]


@pytest.fixture
def seed():
    return random.SystemRandom().randrange(2**32)


def crash_rounds(tmp_path, port, env, victim: Process, seed: int) -> None:
    """Publish the journal service, run the rounds that kill `victim`, and check every order."""
    rng = random.Random(seed)
    api = Api(f"http://127.0.0.1:{port}", token_for("carol", env, tmp_path))
    wait_until(api.answers, what="the API answers")
    status, service = api.call("PUT", "/1/services/journal?force-create=true", SERVICE)
    assert status == 201, service
    wait_until(lambda: api.call("GET", "/1/services/journal")[1]["status"] == "ready", what="the service is ready")
    consumer = Consumer(api, "journal", rng)
    run_rounds(api, victim, consumer, rng)
    wait_until(lambda: all_finished(api), seconds=120, what="every order ends")
    verify(api, consumer, tmp_path / "runs", seed)


def test_killing_the_whole_server_at_random_moments_runs_every_order_exactly_once(tmp_path, empty_database_url, seed):
    port = free_port()
    env = clean_environment(tmp_path, **QUEUES_FREELY,
                            **({"DATABASE_URL": empty_database_url} if empty_database_url else {}))
    server = Process(["serve", "--port", str(port)], env, tmp_path, tmp_path / "serve.log").start()
    try:
        crash_rounds(tmp_path, port, env, server, seed)
    finally:
        server.stop()


def test_killing_the_worker_alone_at_random_moments_runs_every_order_exactly_once(tmp_path, empty_database_url, seed):
    port = free_port()
    env = clean_environment(tmp_path, MARKETPLACE_WORKER_PORT="0", MARKETPLACE_WEB_WORKERS="1", **QUEUES_FREELY,
                            **({"DATABASE_URL": empty_database_url} if empty_database_url else {}))
    Process(["db", "upgrade"], env, tmp_path, tmp_path / "upgrade.log").start().process.wait(60)
    api_server = Process(["serve", "--production", "--port", str(port)], env, tmp_path, tmp_path / "api.log").start()
    worker = Process(["worker", "--interval", "0.2"], env, tmp_path, tmp_path / "worker.log").start()
    try:
        crash_rounds(tmp_path, port, env, worker, seed)
    finally:
        worker.stop()
        api_server.stop()
