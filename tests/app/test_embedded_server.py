"""The embedded server hands a connection to a thread that has served one before, and still gives
every connection a thread of its own: one held open (an event stream) holds up no other."""
from __future__ import annotations

import http.client
import threading

import pytest

from app.embedded_server import EmbeddedRequestHandler, EmbeddedServer
from tests.serving import wait_until

HELD = "/held"


@pytest.fixture
def server():
    holding, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        if environ["PATH_INFO"] == HELD:
            holding.set()
            release.wait(30)  # a response that takes its time, as an event stream does
        return [str(threading.get_ident()).encode()]

    server = EmbeddedServer("127.0.0.1", 0, app, EmbeddedRequestHandler)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    yield server, holding, release
    release.set()
    server.shutdown()
    server.server_close()
    serving.join(10)


def _get(port: int, path: str = "/") -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def _get_when_idle(running: EmbeddedServer, path: str = "/") -> str:
    """A request once the thread that served the last one waits for the next."""
    wait_until(lambda: running.idle_threads, 10, "a thread waiting for a connection")
    return _get(running.server_port, path)


def test_connections_one_after_another_are_served_by_one_thread(server):
    running = server[0]
    assert len({_get(running.server_port)} | {_get_when_idle(running) for _ in range(20)}) == 1


def test_a_connection_held_open_holds_up_no_other(server):
    running, holding, release = server
    held_by = []
    held = threading.Thread(target=lambda: held_by.append(_get(running.server_port, HELD)))
    held.start()
    assert holding.wait(10)
    others = {_get(running.server_port)} | {_get_when_idle(running) for _ in range(5)}
    release.set()
    held.join(30)
    assert len(others) == 1 and held_by and held_by[0] not in others
