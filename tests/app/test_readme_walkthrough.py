"""The README's curl walk-through, run as written against `marketplace serve` (embedded defaults):
publish, force-create, wait for ready, order, and the order succeeds with its parameter in its logs."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_script(port: int, heading: str = "## Walk-through with curl") -> str:
    section = README.read_text().split(heading, 1)[1]
    script = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return (script.replace("http://127.0.0.1:8080", f"http://127.0.0.1:{port}")
            .replace(".venv/bin/marketplace", f"{sys.executable} -m app.cli"))


@contextlib.contextmanager
def embedded_server(tmp_path):
    """`marketplace serve` with embedded defaults in tmp_path: yields its port and environment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MARKETPLACE_", "DATABASE_URL"))}
    env.update(MARKETPLACE_DATA_DIR=str(tmp_path), PYTHONPATH=str(README.parent))
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield port, env
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl, which is not installed")
def test_the_readme_data_walkthrough_runs_as_written(tmp_path):
    with embedded_server(tmp_path) as (port, env):
        run = subprocess.run(["bash", "-c", "set -e\n" + walkthrough_script(port, "### Data: upload a table")],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert '"status":"succeeded"' in run.stdout and '"name":"rows.txt"' in run.stdout, run.stdout[-2000:]
    assert run.stdout.endswith("2 rows"), run.stdout[-500:]  # the downloaded result, checked


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl, which is not installed")
def test_the_readme_walkthrough_runs_as_written(tmp_path):
    with embedded_server(tmp_path) as (port, env):
        run = subprocess.run(["bash", "-c", walkthrough_script(port)], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=60)
        output = run.stdout
        assert run.returncode == 0, run.stderr
        assert "HTTP/1.1 201 CREATED" in output and "Location: http://127.0.0.1" in output
        order = re.search(r'"orders":\[(.*)\]', output)
        assert order and '"status":"succeeded"' in order.group(1), output[-2000:]
        logs_url = re.search(r'"logs":"([^"]+)"', order.group(1)).group(1)
        token = subprocess.run([sys.executable, "-m", "app.cli", "token", "--account", "alice"], cwd=tmp_path,
                               env=env, capture_output=True, text=True, check=True).stdout.splitlines()[-1]
        request = urllib.request.Request(logs_url, headers={"Authorization": f"Bearer {token}"})
        logs = urllib.request.urlopen(request, timeout=5).read().decode()
    assert '"message":"4"' in logs  # "to be or not": the parameter reached the command
    assert '"name":"workflow.basic.image"' in output  # the bad-input example's 422


def test_the_readme_command_line_walkthrough_runs_as_written(tmp_path):
    with embedded_server(tmp_path) as (port, env):
        env = {**env, "XDG_CONFIG_HOME": str(tmp_path / "config")}  # `login` writes there, not in the user's home
        script = walkthrough_script(port, "## Walk-through with the command line")
        run = subprocess.run(["bash", "-c", "set -e\n" + script], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=120)
    output = run.stdout
    assert run.returncode == 0, (run.stderr, output[-2000:])
    assert "published urn:acme:service:wc (status ready)" in output
    assert re.search(r"urn:marketplace:order:\S+\s+succeeded", output), output[-2000:]
    assert re.search(r"\[main\] 4$", output, re.M), output  # the logs: "to be or not" has 4 words
    orders = json.loads(output[list(re.finditer(r"^\[$", output, re.M))[-1].start():])
    assert [order["status"] for order in orders] == ["succeeded"]
    assert (tmp_path / "config" / "marketplace" / "config.json").stat().st_mode & 0o077 == 0
