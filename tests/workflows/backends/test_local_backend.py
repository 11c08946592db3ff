"""The local backend runs a basic order as a real, sandboxed process, looked after by a
supervisor that outlives the backend: a new backend on the same folder (a restarted worker)
finds every run where it stands."""
from __future__ import annotations

import json
import time

import pytest

from workflows.backends.base import Phase, Submission
from workflows.backends.local import LocalBackend
from workflows.backends.runs import RunFolder, RunState
from workflows.backends.sandbox import Limits
from workflows.settings import CompileSettings

ORDER = "urn:marketplace:order:1"


@pytest.fixture
def backend(tmp_path):
    """A factory: every call is a new backend (a restarted worker) on the same runs folder."""
    def make(deadline=3600, log_bytes=CompileSettings.log_bytes, **limits):
        settings = CompileSettings(active_deadline_seconds=deadline, log_bytes=log_bytes)
        return LocalBackend(settings, tmp_path / "runs", Limits(**limits))
    return make


def submission(code, parameters=(), memory=None, order_id=ORDER):
    basic = {"image": "python:3.11-slim", "command": ["python3", "-c", code]}
    if memory:
        basic["memory"] = {"limit": memory}
    return Submission(order_id, "urn:acme:service:s", {"type": "basic", "basic": basic}, list(parameters))


def wait_for_phase(backend, phases, order_id=ORDER, kept=None, seconds=30):
    """Observe until the run is in one of `phases`; returns the observation and every line seen."""
    kept = kept if kept is not None else []
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        seen = backend.observe(order_id, len(kept))
        kept += [line.message for line in seen.logs]
        if seen.phase in phases:
            return seen, kept
        time.sleep(0.05)
    raise AssertionError(f"still {seen.phase} ({seen.reason}) after {seconds}s; output: {kept[-5:]}")


def wait_for_output(backend, line, order_id=ORDER, seconds=30):
    """Observe until the running order has printed `line`; returns the lines seen."""
    kept, ends = [], time.monotonic() + seconds
    while line not in kept:
        assert time.monotonic() < ends, f"{line!r} not printed within {seconds}s; output: {kept[-5:]}"
        wait_for_phase(backend, (Phase.RUNNING,), order_id, kept)
        time.sleep(0.05)
    return kept


def wait_for_end(backend, order_id=ORDER, kept=None, seconds=30):
    return wait_for_phase(backend, (Phase.SUCCEEDED, Phase.FAILED, Phase.GONE), order_id, kept, seconds)


def test_a_command_gets_its_parameters_as_literal_arguments_and_only_the_documented_environment(backend):
    local = backend()
    code = "import json, os, sys; print(sys.argv[1:]); print(json.dumps(dict(os.environ))); print(os.getcwd())"
    local.submit(submission(code, [("text", "; rm -rf / $(id)")]))
    seen, lines = wait_for_end(local)
    assert (seen.phase, seen.reason) == (Phase.SUCCEEDED, None)
    assert lines[0] == "['--text', '; rm -rf / $(id)']"
    environment = json.loads(lines[1])
    assert environment.pop("LC_CTYPE", "C.UTF-8") == "C.UTF-8"  # Python's own, from LANG
    assert environment == {"HOME": "/order", "PWD": "/order", "LANG": "C.UTF-8", "MARKETPLACE_ORDER_ID": ORDER,
                           "MARKETPLACE_SERVICE_ID": "urn:acme:service:s", "PATH": "/usr/local/bin:/usr/bin:/bin",
                           "MARKETPLACE_INPUTS_DIR": "/marketplace/inputs",
                           "MARKETPLACE_OUTPUTS_DIR": "/marketplace/outputs"}
    assert lines[2] == "/order"
    assert local.observe("urn:marketplace:order:unknown", 0).phase == Phase.GONE


def test_a_failing_command_reports_its_exit_code_and_stderr(backend):
    local = backend()
    local.submit(submission("import sys; sys.stderr.write('bad input\\n'); sys.exit(3)"))
    seen, lines = wait_for_end(local)
    assert (seen.phase, seen.reason, lines) == (Phase.FAILED, "exited with code 3", ["bad input"])


def test_submitting_twice_runs_once_even_from_two_backends(backend):
    first, second = backend(), backend()
    first.submit(submission("print('once')"))
    second.submit(submission("print('twice')"))  # a retried submit: the first submission stands
    assert wait_for_end(first)[1] == ["once"]
    assert wait_for_end(second)[1] == ["once"]


def test_cancelling_never_waits_and_a_process_that_ignores_term_is_killed_after_the_grace(backend):
    local = backend(kill_grace_seconds=1)
    code = ("import signal, time; signal.signal(signal.SIGTERM, lambda *_: print('ignoring TERM', flush=True));"
            "print('started', flush=True); time.sleep(600)")
    local.submit(submission(code))
    kept = wait_for_output(local, "started")  # its TERM handler is in place
    began = time.monotonic()
    local.cancel(ORDER)
    assert time.monotonic() - began < 0.5  # the supervisor stops it, not the caller
    seen, lines = wait_for_end(local, kept=kept)
    assert (seen.phase, seen.reason) == (Phase.FAILED, "cancelled")
    assert "ignoring TERM" in lines


def test_the_deadline_stops_a_command(backend):
    local = backend(deadline=1)
    local.submit(submission("import time; time.sleep(600)"))
    seen, _ = wait_for_end(local)
    assert (seen.phase, seen.reason) == (Phase.FAILED, "stopped after the 1s deadline")


def test_the_memory_limit_applies(backend):
    local = backend()
    local.submit(submission("x = bytearray(400 * 1024 * 1024); print('allocated')", memory="200Mi"))
    seen, lines = wait_for_end(local)
    assert seen.phase == Phase.FAILED and "allocated" not in lines and any("MemoryError" in line for line in lines)


def test_the_process_limit_applies(backend):
    local = backend(processes=8)
    code = ("import subprocess\nstarted = []\ntry:\n"
            "    for _ in range(50): started.append(subprocess.Popen(['sleep', '30']))\n"
            "except OSError as error: print('refused after', len(started), error.errno)\n"
            "for p in started: p.kill()")
    local.submit(submission(code))
    _, lines = wait_for_end(local)
    assert lines and lines[0].startswith("refused after") and int(lines[0].split()[2]) < 8


def test_output_beyond_the_limit_is_cut_and_the_cut_is_marked(backend):
    local = backend(log_bytes=4096)
    local.submit(submission("for i in range(10000): print('line', i)"))
    seen, lines = wait_for_end(local)
    assert seen.phase == Phase.SUCCEEDED
    assert lines[:-1] == [f"line {i}" for i in range(len(lines) - 1)] and len(lines) < 4096 // 36
    assert lines[-1].startswith("[marketplace] output cut")


def test_a_restarted_backend_reattaches_to_a_live_run_and_repeats_no_line(backend):
    first = backend()
    code = ("import os, time; print('one', flush=True); open('go', 'w').close()\n"
            "while os.path.exists('go'): time.sleep(0.05)\nprint('two')")
    first.submit(submission(code))
    kept = wait_for_output(first, "one")
    restarted = backend()
    assert restarted.observe(ORDER, len(kept)).phase == Phase.RUNNING
    (RunFolder(restarted._runs_dir, ORDER).work / "go").unlink()  # let the order finish
    seen, lines = wait_for_end(restarted, kept=kept)
    assert (seen.phase, lines) == (Phase.SUCCEEDED, ["one", "two"])


def test_a_run_that_ended_while_no_worker_watched_is_collected(backend):
    first = backend()
    first.submit(submission("print('done')"))
    run = RunFolder(first._runs_dir, ORDER)
    deadline = time.monotonic() + 30
    while run.state() != RunState.ENDED and time.monotonic() < deadline:
        time.sleep(0.05)
    seen, lines = wait_for_end(backend())
    assert (seen.phase, lines) == (Phase.SUCCEEDED, ["done"])


def test_a_run_no_supervisor_claimed_is_started_once_by_a_restarted_backend(backend, tmp_path):
    first = backend()
    first._start_supervisor = lambda run: None  # the worker died between writing and starting
    first.submit(submission("print('ran')"))
    assert RunFolder(tmp_path / "runs", ORDER).state() == RunState.NOT_CLAIMED
    restarted = backend()
    seen, lines = wait_for_end(restarted)
    assert (seen.phase, lines) == (Phase.SUCCEEDED, ["ran"])
