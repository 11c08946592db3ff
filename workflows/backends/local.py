"""The embedded backend: a basic order runs as a child process on this machine.

No shell: the command line is an argument list. The image is recorded but not pulled, so the
command must exist here. Limits: wall-clock (the active deadline) and address space from the
memory limit (RLIMIT_AS). Output (stdout and stderr) is read line by line with timestamps.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from kubernetes.utils.quantity import parse_quantity

from workflows.backends.base import LogLine, Observation, Phase, Submission
from workflows.basic import basic_command_line, order_environment
from workflows.settings import CompileSettings

TASK_NAME = "main"
KILL_GRACE_SECONDS = 5
MAX_LINE_CHARACTERS = 16384
LOST_MESSAGE = "the backend no longer knows this order's workload (the worker restarted while it ran)"


@dataclass
class _Run:
    process: subprocess.Popen
    deadline: float
    lines: list[LogLine] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reader: threading.Thread | None = None
    stop_reason: str | None = None


def _limit_memory(limit_bytes: int | None):
    def apply() -> None:
        if limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    return apply


def _read_lines(run: _Run) -> None:
    for raw in run.process.stdout:
        text = raw.decode("utf-8", errors="replace").rstrip("\n")[:MAX_LINE_CHARACTERS]
        with run.lock:
            run.lines.append(LogLine(datetime.now(timezone.utc), TASK_NAME, text))


class LocalBackend:
    workflow_types = frozenset({"basic"})

    def __init__(self, settings: CompileSettings):
        self._settings = settings
        self._runs: dict[str, _Run] = {}

    def submit(self, submission: Submission) -> None:
        if submission.order_id in self._runs:
            return
        workflow = submission.workflow
        if workflow["type"] != "basic":
            raise ValueError("the local backend runs basic workflows only")
        basic = workflow["basic"]
        argv = basic_command_line(basic, submission.parameters)
        if not argv:
            raise ValueError("the local backend needs a command: it does not run images")
        memory = (basic.get("memory") or {}).get("limit")
        env = {**os.environ, **order_environment(submission.order_id, submission.service_id)}
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, start_new_session=True,
                                   preexec_fn=_limit_memory(int(parse_quantity(memory)) if memory else None))
        run = _Run(process, time.monotonic() + self._settings.active_deadline_seconds)
        run.reader = threading.Thread(target=_read_lines, args=(run,), daemon=True)
        run.reader.start()
        self._runs[submission.order_id] = run

    def _stop(self, run: _Run, reason: str) -> None:
        run.stop_reason = reason
        try:
            os.killpg(run.process.pid, signal.SIGTERM)
            run.process.wait(KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()
        except ProcessLookupError:
            pass

    def observe(self, order_id: str, logs_kept: int = 0) -> Observation:
        run = self._runs.get(order_id)
        if run is None:
            return Observation(Phase.GONE, LOST_MESSAGE)
        if run.process.poll() is None and time.monotonic() > run.deadline:
            self._stop(run, f"stopped after the {self._settings.active_deadline_seconds}s deadline")
        code = run.process.poll()
        if code is not None:
            run.reader.join(timeout=KILL_GRACE_SECONDS)
        with run.lock:
            lines, run.lines = run.lines, []
        if code is None:
            return Observation(Phase.RUNNING, logs=lines)
        del self._runs[order_id]
        if run.stop_reason:
            return Observation(Phase.FAILED, run.stop_reason, logs=lines)
        message = None if code == 0 else (f"killed by signal {-code}" if code < 0 else f"exited with code {code}")
        return Observation(Phase.SUCCEEDED if code == 0 else Phase.FAILED, message, logs=lines)

    def cancel(self, order_id: str) -> None:
        run = self._runs.get(order_id)
        if run is not None and run.process.poll() is None:
            self._stop(run, "cancelled")

    def start(self, stop) -> None:
        pass  # nothing to watch: processes are polled

    def changed_orders(self) -> None:
        return None  # processes are polled: every running order is looked at on each pass

    def forget(self, order_id: str) -> None:
        pass  # a finished run is dropped when it is observed

    def healthy(self) -> bool:
        return True
