"""What the HTTP server answers by itself, before a request reaches the application, comes in
the one JSON error shape too (gunicorn in production, werkzeug's server in development)."""
from __future__ import annotations

import json
import socket

import pytest

from tests.serving import Api, Process, clean_environment, free_port, wait_until


@pytest.fixture(params=[["--production"], []], ids=["gunicorn", "development"])
def server(request, tmp_path):
    port = free_port()
    env = clean_environment(tmp_path, MARKETPLACE_WEB_WORKERS="1", MARKETPLACE_SANDBOX="none")
    process = Process(["serve", "--port", str(port), *request.param], env, tmp_path, tmp_path / "serve.log").start()
    try:
        wait_until(Api(f"http://127.0.0.1:{port}", "").answers, 60, "the server answering")
        yield port
    finally:
        process.stop()


def raw_request(port: int, head: bytes) -> tuple[int | None, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    if not answer.startswith(b"HTTP/"):
        return None, {}, answer  # an HTTP/0.9-style answer (http.server's to a request line it cannot read)
    head_part, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head_part.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("head, status", [
    (b"GET /1/services?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /1/services HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 70_000 + b"\r\n\r\n", (400, 431)),
    (b"NOT A REQUEST\r\n\r\n", 400),
], ids=["uri-too-long", "header-too-large", "garbage"])
def test_the_servers_own_errors_are_json(server, head, status):
    code, headers, body = raw_request(server, head)
    if code is not None:
        assert code in (status if isinstance(status, tuple) else (status,))
        assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert set(document) == {"message"} and document["message"]
