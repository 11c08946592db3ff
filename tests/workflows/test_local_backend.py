"""The local backend runs a basic order as a real child process."""
from __future__ import annotations

import sys
import time

from workflows.backends.base import Phase, Submission
from workflows.backends.local import LocalBackend
from workflows.settings import CompileSettings


def submission(code, parameters=(), memory=None, order_id="urn:marketplace:order:1"):
    basic = {"image": "python:3.11-slim", "command": [sys.executable, "-c", code]}
    if memory:
        basic["memory"] = {"limit": memory}
    return Submission(order_id, "urn:acme:service:s", {"type": "basic", "basic": basic}, list(parameters))


def wait_for_end(backend, order_id="urn:marketplace:order:1", seconds=20):
    lines, ends = [], time.monotonic() + seconds
    while time.monotonic() < ends:
        seen = backend.observe(order_id)
        lines += seen.logs
        if seen.finished:
            return seen, [line.message for line in lines]
        time.sleep(0.05)
    raise AssertionError("the process did not end")


def test_a_command_gets_its_parameters_as_literal_arguments_and_the_order_id():
    backend = LocalBackend(CompileSettings())
    code = "import os, sys; print(sys.argv[1:]); print(os.environ['MARKETPLACE_ORDER_ID'])"
    backend.submit(submission(code, [("text", "; rm -rf / $(id)")]))
    seen, lines = wait_for_end(backend)
    assert (seen.phase, seen.reason) == (Phase.SUCCEEDED, None)
    assert lines == ["['--text', '; rm -rf / $(id)']", "urn:marketplace:order:1"]
    assert backend.observe("urn:marketplace:order:1").phase == Phase.GONE


def test_a_failing_command_reports_its_exit_code_and_stderr():
    backend = LocalBackend(CompileSettings())
    backend.submit(submission("import sys; sys.stderr.write('bad input\\n'); sys.exit(3)"))
    seen, lines = wait_for_end(backend)
    assert (seen.phase, seen.reason, lines) == (Phase.FAILED, "exited with code 3", ["bad input"])


def test_submitting_twice_runs_once():
    backend = LocalBackend(CompileSettings())
    backend.submit(submission("print('once')"))
    backend.submit(submission("print('twice')"))
    assert wait_for_end(backend)[1] == ["once"]


def test_a_long_command_is_cancelled():
    backend = LocalBackend(CompileSettings())
    backend.submit(submission("import time; print('started', flush=True); time.sleep(60)"))
    time.sleep(0.5)
    backend.cancel("urn:marketplace:order:1")
    seen, _ = wait_for_end(backend)
    assert (seen.phase, seen.reason) == (Phase.FAILED, "cancelled")


def test_the_deadline_stops_a_command():
    backend = LocalBackend(CompileSettings(active_deadline_seconds=1))
    backend.submit(submission("import time; time.sleep(60)"))
    seen, _ = wait_for_end(backend)
    assert seen.reason == "stopped after the 1s deadline"


def test_the_memory_limit_applies():
    backend = LocalBackend(CompileSettings())
    backend.submit(submission("x = bytearray(400 * 1024 * 1024); print('allocated')", memory="200Mi"))
    seen, lines = wait_for_end(backend)
    assert seen.phase == Phase.FAILED and "allocated" not in lines and any("MemoryError" in l for l in lines)
