"""Fixtures of the webhook tests: the app with the webhook settings a test asks for, receivers on
threads that record what they get, and a dispatcher running beside the test."""
from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.conftest import TEST_SECRET
from tests.factories import basic_workflow, service_description


@pytest.fixture
def webhook_settings():
    """The defaults: no network beyond the public ones may be called."""
    from app.config import WebhookSettings

    return WebhookSettings()


@pytest.fixture
def config(database_url, tmp_path, webhook_settings):
    from app.config import Config

    return Config(database_url=database_url, secret_key=TEST_SECRET, data_dir=tmp_path, webhooks=webhook_settings)


def until(condition: Callable, seconds: float = 30.0, what: str = "condition", step: Callable | None = None):
    """Wait for `condition()` to hold (running `step` between looks), failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} not reached within {seconds}s"
        if step is not None:
            step()
        time.sleep(0.02)
    return value


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    time: float


@dataclass
class Receiver:
    """An HTTP server on a thread: answers each POST with the next of `answers` (the last one repeats);
    an answer of None never answers (the request hangs until the server stops)."""

    answers: list[int | None]
    received: list[Received] = field(default_factory=list)
    url: str = ""
    released: threading.Event = field(default_factory=threading.Event)

    def answer_for(self, number: int) -> int | None:
        return self.answers[min(number, len(self.answers) - 1)]


def _handler(receiver: Receiver):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            number = len(receiver.received)
            receiver.received.append(Received(body, dict(self.headers), time.monotonic()))
            status = receiver.answer_for(number)
            if status is None:
                receiver.released.wait(60)
                return
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args):
            pass
    return Handler


@pytest.fixture
def receiver():
    """`receiver(answers)`: a running Receiver whose `url` is http://127.0.0.1:port/hooks."""
    servers = []

    def start(answers=(200,)) -> Receiver:
        received = Receiver(list(answers))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(received))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        received.url = f"http://127.0.0.1:{server.server_port}/hooks"
        servers.append((server, received))
        return received
    yield start
    for server, received in servers:
        received.released.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def dispatcher(app, config):
    """`dispatcher(resolve=None, metrics=None)`: a webhook dispatcher running on a thread until the test ends."""
    from app.worker.webhooks import Dispatcher

    stops, threads = [], []

    def start(resolve=None, metrics=None) -> Dispatcher:
        stop = threading.Event()
        running = Dispatcher(app.extensions["database"], config, app=app, resolve=resolve, metrics=metrics)
        threads.append(running.start(stop))
        stops.append(stop)
        return running
    yield start
    for stop in stops:
        stop.set()
    for thread in threads:
        thread.join(10)


@pytest.fixture
def service(alice, app):
    """Alice's ready service that runs a short Python command on the local backend."""
    from app.services.models import Service

    description = service_description(workflow=basic_workflow(command=["python3", "-c", "pass"]),
                                      parameters=[{"name": "scene", "type": "string", "optional": True}])
    created = alice.post("/1/services", json=description).get_json()
    session = app.extensions["database"].sessions()
    with session.begin():
        session.get(Service, created["id"]).status = "ready"
    session.close()
    return created
