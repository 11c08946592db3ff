"""One attempt (app.webhooks.sender): its outcome, and the bounds on how long a receiver can hold it."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from app.callback_urls import parse_networks
from app.config import WebhookSettings
from app.webhooks.sender import post

SETTINGS = WebhookSettings(allowed_networks=parse_networks("127.0.0.1/32"), connect_timeout_seconds=1,
                           read_timeout_seconds=1)


@pytest.fixture
def raw_server():
    """`raw_server(respond)`: a TCP server on 127.0.0.1 that hands each connection to respond(conn)."""
    sockets, stop = [], threading.Event()

    def start(respond) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        sockets.append(listener)

        def serve():
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                threading.Thread(target=respond, args=(conn,), daemon=True).start()
        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/hooks"
    yield start
    stop.set()
    for listener in sockets:
        listener.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    return data


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_two_timeouts_together(raw_server):
    def drip(conn):
        _read_request(conn)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 1000:
                conn.sendall(bytes([byte]))
                time.sleep(0.2)  # each wait shorter than the read timeout
        except OSError:
            pass
        conn.close()
    url = raw_server(drip)
    started = time.monotonic()
    outcome = post(url, b"{}", {"content-type": "application/json"}, SETTINGS)
    assert time.monotonic() - started < 4
    assert (outcome.outcome, outcome.error) == ("failed", "no complete answer within the timeouts")


def test_the_answer_body_is_not_read_and_its_status_is_the_outcome(raw_server):
    def answer(conn):
        request = _read_request(conn)
        assert b"Host: 127.0.0.1:" in request
        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 1000000000\r\n\r\n" + b"x" * 10)
        time.sleep(2)
        conn.close()
    started = time.monotonic()
    outcome = post(raw_server(answer), b"{}", {}, SETTINGS)
    assert (outcome.outcome, outcome.status_code) == ("succeeded", 204)
    assert time.monotonic() - started < 1.5


def test_a_closed_port_fails_saying_so():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    outcome = post(f"http://127.0.0.1:{port}/", b"{}", {}, SETTINGS)
    assert outcome.outcome == "failed" and outcome.status_code is None and "could not connect" in outcome.error


def test_an_address_outside_the_allowance_is_refused_without_connecting():
    outcome = post("http://10.1.2.3/hooks", b"{}", {}, SETTINGS)
    assert outcome.outcome == "refused" and "private address" in outcome.error


def test_a_silent_receiver_fails_after_the_read_timeout_not_the_connect_timeout(raw_server):
    def silent(conn):
        _read_request(conn)
        time.sleep(5)
        conn.close()
    settings = WebhookSettings(allowed_networks=SETTINGS.allowed_networks, connect_timeout_seconds=1,
                               read_timeout_seconds=2)
    outcome = post(raw_server(silent), b"{}", {}, settings)
    assert (outcome.outcome, outcome.error) == ("failed", "no answer within the read timeout")
    assert 1900 <= outcome.duration_ms < 2900
