from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from app.worker import Worker
from tests.cluster.emulator import Emulator
from workflows.backends.cluster import ClusterClient
from workflows.backends.kubernetes import KubernetesBackend

NAMESPACE = "orders"


@pytest.fixture
def emulator():
    running = Emulator().start()
    yield running
    running.stop()


@pytest.fixture
def cluster_config(config):
    return dataclasses.replace(config, backend="kubernetes",
                               compile=dataclasses.replace(config.compile, namespace=NAMESPACE))


@pytest.fixture
def start_worker(app, cluster_config, emulator):
    """A worker on the Kubernetes backend, talking to the emulator; its watches run until the test ends."""
    stops = []

    def start(clock=time.monotonic, **settings) -> Worker:
        """`settings` override the CompileSettings fields (log_bytes=…, stuck_seconds=…)."""
        compile_settings = dataclasses.replace(cluster_config.compile, **settings)
        backend = KubernetesBackend(ClusterClient(emulator.api_client(), NAMESPACE), compile_settings, clock)
        stop = threading.Event()
        stops.append(stop)
        backend.start(stop)
        for watcher in backend.watchers:
            assert watcher.synced.wait(5)
        return Worker(app.extensions["database"], cluster_config, backend=backend)

    yield start
    for stop in stops:
        stop.set()


def wait_for(condition, worker=None, seconds=10.0):
    """Run worker passes until `condition()` is truthy; returns its value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker is not None:
            worker.run_once()
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


class ManualClock:
    """The backend's clock, moved by the test: grace times pass without waiting for them."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
