"""Real `marketplace` processes for the tests that need one: started in a process group of their
own (so a test can kill the whole group), talked to over HTTP, waited on with deadlines."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without the marketplace's settings, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MARKETPLACE_", "DATABASE_URL"))}
    return {**env, "MARKETPLACE_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), **settings}


def wait_until(condition, seconds: float = 60.0, what: str = "condition", interval: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        if value := condition():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {seconds}s")
        time.sleep(interval)


class Process:
    """`python -m app.cli ARGS` (or another module's) in a new process group."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path, module: str = "app.cli"):
        self.args, self.env, self.cwd, self.log, self.module = args, env, cwd, log, module
        self.process: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen([sys.executable, "-m", self.module, *self.args], cwd=self.cwd,
                                            env=self.env, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                            process_group=0)
        return self

    def kill_group(self) -> None:
        """SIGKILL to the whole process group: nothing in it gets to clean up."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill_group()


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None, headers=None, timeout: float = 10):
        """(status, JSON body); (None, error) when the server does not answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")
        except (OSError, http.client.HTTPException) as error:  # a server killed mid-answer
            return None, str(error)

    def answers(self) -> bool:
        return self.call("GET", "/healthz", timeout=2)[0] == 200


def token_for(account: str, env: dict[str, str], cwd: Path) -> str:
    run = subprocess.run([sys.executable, "-m", "app.cli", "token", "--account", account], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True)
    return run.stdout.splitlines()[-1]
