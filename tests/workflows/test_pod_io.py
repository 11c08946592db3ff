"""The helpers beside a Job's workload, against a small HTTP server standing in for the API: the
init container fetches inputs with the order's token, the sidecar uploads products when told
the workload has ended, and neither hands the token to a host it is redirected to."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from workflows import pod_io

ARTIFACT = "urn:marketplace:artifact:7d1e"
ORDER = "urn:marketplace:order:42"
TOKEN = "order-token"


class FakeApi(ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.blobs: dict[str, bytes] = {}
        self.failures: list[int] = []  # statuses to answer first, one per request
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.redirect_to: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeApi

    def log_message(self, *_):
        pass

    def _record(self) -> bytes:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        return body

    def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._record()
        if self.server.failures:
            return self._answer(self.server.failures.pop(0))
        path = urlsplit(self.path).path
        if path.startswith("/storage/"):
            return self._answer(200, self.server.blobs[path.removeprefix("/storage/")])
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401)
        artifact = path.removeprefix("/1/artifacts/").removesuffix("/blob").replace("%3A", ":")
        if self.server.redirect_to:
            return self._answer(307, headers={"Location": f"{self.server.redirect_to}/storage/{artifact}"})
        return self._answer(200, self.server.blobs[artifact])

    def do_POST(self):
        self._record()
        if self.server.failures:
            return self._answer(self.server.failures.pop(0))
        self._answer(201 if self.headers.get("Authorization") == f"Bearer {TOKEN}" else 401)


@pytest.fixture
def api():
    server = FakeApi()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def uploads(api):
    return {parse_qs(urlsplit(path).query)["name"][0]: (headers, body)
            for method, path, headers, body in api.requests if method == "POST"}


def test_fetch_downloads_each_input_whole_with_the_orders_token(api, tmp_path):
    api.blobs[ARTIFACT] = b"a,b\n1,2\n" * 100_000
    api.failures = [503]  # the API restarting: tried again
    pod_io.fetch(api.url, TOKEN, tmp_path, [("table", ARTIFACT)], delays=(0,))
    assert (tmp_path / "table").read_bytes() == api.blobs[ARTIFACT]
    assert os.listdir(tmp_path) == ["table"]  # no partial file left
    assert api.requests[-1][1] == "/1/artifacts/urn%3Amarketplace%3Aartifact%3A7d1e/blob"


def test_fetch_gives_up_on_a_refusal_and_leaves_no_input(api, tmp_path):
    api.failures = [404]
    with pytest.raises(pod_io.Refused, match="404"):
        pod_io.fetch(api.url, TOKEN, tmp_path, [("table", ARTIFACT)], delays=(0, 0))
    assert not (tmp_path / "table").exists() and len(api.requests) == 1


def test_a_redirected_download_does_not_carry_the_token(api, tmp_path):
    api.blobs[ARTIFACT] = b"content"
    api.redirect_to = api.url  # a presigned storage URL, in real life on another host
    pod_io.fetch(api.url, TOKEN, tmp_path, [("table", ARTIFACT)])
    assert (tmp_path / "table").read_bytes() == b"content"
    (_, _, first, _), (_, path, redirected, _) = api.requests
    assert first["Authorization"] == f"Bearer {TOKEN}"
    assert path.startswith("/storage/") and "Authorization" not in redirected


def test_collect_uploads_every_regular_file_with_its_name_and_type_and_no_link(api, tmp_path):
    outputs = tmp_path / "outputs"
    (outputs / "plots").mkdir(parents=True)
    (outputs / "result.csv").write_text("x\n1\n")
    (outputs / "plots" / "a.png").write_bytes(b"\x89PNG")
    (outputs / "secret").symlink_to("/etc/passwd")
    api.failures = [500]
    assert pod_io.collect(api.url, TOKEN, ORDER, outputs, 10, 10**6, delays=(0,)) == 0
    sent = uploads(api)
    assert sorted(sent) == ["plots/a.png", "result.csv"]
    headers, body = sent["result.csv"]
    assert body == b"x\n1\n" and headers["Content-Type"] == "text/csv"
    assert headers["Authorization"] == f"Bearer {TOKEN}" and sent["plots/a.png"][0]["Content-Type"] == "image/png"
    assert {path.split("?")[0] for method, path, *_ in api.requests if method == "POST"} == {
        "/1/orders/urn%3Amarketplace%3Aorder%3A42/products"}


def test_the_collector_waits_for_sigterm_then_uploads(api, tmp_path):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    collector = subprocess.Popen(
        [sys.executable, "-m", "workflows.pod_io", "collect", "--order", ORDER, "--from", str(outputs),
         "--max-files", "5", "--max-bytes", "1000", "--api", api.url],
        env={**os.environ, pod_io.TOKEN_VARIABLE: TOKEN}, stderr=subprocess.PIPE, text=True)
    try:
        assert collector.stderr.readline().strip() == "waiting for the workload to end"
        (outputs / "late.txt").write_text("written after the collector started")  # the workload's work
        assert collector.poll() is None and not api.requests
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(30) == 0
    finally:
        collector.kill()
    assert uploads(api)["late.txt"][1] == b"written after the collector started"


def test_collect_reports_what_it_could_not_upload(api, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b" * 10)
    api.failures = [400]
    assert pod_io.collect(api.url, TOKEN, ORDER, tmp_path, 10, 5, delays=()) == 1
    err = capsys.readouterr().err
    assert "1 files (10 bytes) left out" in err and "product 'a.txt' not kept" in err


def test_main_reads_its_arguments(api, tmp_path, monkeypatch):
    api.blobs[ARTIFACT] = b"1"
    monkeypatch.setenv(pod_io.TOKEN_VARIABLE, TOKEN)
    assert pod_io.main(["fetch", "--into", str(tmp_path), f"table={ARTIFACT}", "--api", api.url + "/"]) == 0
    assert (tmp_path / "table").read_bytes() == b"1"
    monkeypatch.delenv(pod_io.TOKEN_VARIABLE)
    started = time.monotonic()
    assert pod_io.main(["fetch", "--into", str(tmp_path), f"other={ARTIFACT}", "--api", api.url]) == 1  # 401
    assert time.monotonic() - started < 5  # a refusal is not retried
