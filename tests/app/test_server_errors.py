"""What the HTTP server answers by itself, before a request reaches the application, comes in
the one JSON error shape too (gunicorn in production, werkzeug's server in development)."""
from __future__ import annotations

import http.client
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.serving import Api, Process, clean_environment, free_port, token_for, wait_until


@pytest.fixture(params=[["--production"], []], ids=["gunicorn", "development"])
def server(request, tmp_path):
    port = free_port()
    env = clean_environment(tmp_path, MARKETPLACE_WEB_WORKERS="1", MARKETPLACE_SANDBOX="none")
    process = Process(["serve", "--port", str(port), *request.param], env, tmp_path, tmp_path / "serve.log").start()
    try:
        wait_until(Api(f"http://127.0.0.1:{port}", "").answers, 60, "the server answering")
        yield port, process
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
    code, headers, body = raw_request(server[0], head)
    if code is not None:
        assert code in (status if isinstance(status, tuple) else (status,))
        assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert set(document) == {"message"} and document["message"]


def _peak_memory_kib(pid: int) -> int:
    """The largest resident set (VmHWM) of a process and its children."""
    pids = [pid] + [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
                    and _parent_of(int(entry.name)) == pid]
    peaks = []
    for each in pids:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        peaks += [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")]
    return max(peaks)


def _parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _post_100_mb(port: int, token: str, chunked: bool) -> tuple[int, dict]:
    size, chunk = 100 * 1024 * 1024, b" " * (256 * 1024)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    headers.update({"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)})
    try:
        connection.putrequest("POST", "/1/services")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        try:
            for _ in range(size // len(chunk)):  # made as sent: never held whole, here or there
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                connection.send(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the body ended
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_concurrent_100_mb_bodies_are_413_and_never_held_in_memory(server, tmp_path):
    port, process = server
    token = token_for("alice", process.env, tmp_path)
    warm_up = Api(f"http://127.0.0.1:{port}", token)
    assert warm_up.call("POST", "/1/services", {"description": "x"})[0] == 422
    before = _peak_memory_kib(process.process.pid)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda chunked: _post_100_mb(port, token, chunked), [True, False, True, False]))
    for status, body in answers:
        assert status == 413 and "at most" in body["message"], body
    # Four 100 MB bodies came in; gunicorn grew by far less than one of them. (The development
    # server drains what it did not read in 10 MB reads, by design: it is not for production.)
    if "--production" in process.args:
        assert _peak_memory_kib(process.process.pid) - before < 50 * 1024
