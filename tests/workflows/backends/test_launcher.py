"""The launcher starts supervisors by forking, says when each has exited, and when it goes (its
worker gone), the supervisors it started run on to their end."""
from __future__ import annotations

import dataclasses
import threading
import time

from workflows.backends import local
from workflows.backends.base import Phase, Submission
from workflows.backends.launcher import Supervisor
from workflows.backends.local import LocalBackend
from workflows.backends.runs import RunFolder, RunState
from workflows.backends.sandbox import Limits, SandboxSettings
from workflows.settings import CompileSettings


def _submission(order_id: str, *argv: str) -> Submission:
    return Submission(order_id, "urn:test:service", {"type": "basic", "basic": {"image": "x", "command": list(argv)}},
                      [])


def _until(condition, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.01)


def test_a_supervisor_that_exits_wakes_the_worker(tmp_path):
    backend = LocalBackend(CompileSettings(), tmp_path, sandbox=SandboxSettings(mode="none"))
    woken, stop = threading.Event(), threading.Event()
    backend.start(stop, woken.set)
    try:
        backend.submit(_submission("urn:test:order:1", "true"))
        assert woken.wait(20)
        assert backend.observe("urn:test:order:1", 0).phase == Phase.SUCCEEDED
    finally:
        stop.set()


def test_supervisors_outlive_their_launcher(tmp_path):
    backend = LocalBackend(CompileSettings(), tmp_path, sandbox=SandboxSettings(mode="none"))
    backend.submit(_submission("urn:test:order:2", "sleep", "0.5"))
    run = RunFolder(tmp_path, "urn:test:order:2")
    _until(lambda: run.state() == RunState.RUNNING)
    backend._launcher._process.kill()  # as if the worker's process group had been killed
    _until(lambda: run.state() == RunState.ENDED)
    assert run.ended().code == 0
    # A new backend (a restarted worker) reads the run's end from its folder.
    assert LocalBackend(CompileSettings(), tmp_path, sandbox=SandboxSettings(mode="none")).observe(
        "urn:test:order:2", 0).phase == Phase.SUCCEEDED


def test_a_run_whose_launcher_died_before_saying_anything_is_started_again(tmp_path):
    """Whether its supervisor ever ran is unknown: another is started, and the claim makes sure
    that the run runs once."""
    backend = LocalBackend(CompileSettings(), tmp_path, sandbox=SandboxSettings(mode="none"))
    run = RunFolder(tmp_path, "urn:test:order:3")
    run.write_submission({"order_id": run.order_id, "argv": ["true"], "env": {},
                          "limits": dataclasses.asdict(Limits()), "log_bytes": 1000,
                          "sandbox": dataclasses.asdict(SandboxSettings(mode="none"))})
    lost = Supervisor()
    lost.lost = True
    backend._supervisors[run.order_id] = lost
    _until(lambda: backend.observe(run.order_id, 0).phase == Phase.SUCCEEDED)


def test_the_change_feed_names_the_runs_that_ended_and_asks_for_a_look_at_all_after_a_start_or_a_lost_launcher(
        tmp_path, monkeypatch):
    monkeypatch.setattr(local, "LOOK_AT_ALL_SECONDS", 3600.0)  # none due of itself within the test
    backend = LocalBackend(CompileSettings(), tmp_path, sandbox=SandboxSettings(mode="none"))
    woken, stop = threading.Event(), threading.Event()
    backend.start(stop, woken.set)
    try:
        assert backend.changed_orders() is None  # a backend that starts may be a restarted one
        backend.submit(_submission("urn:test:order:4", "true"))
        backend.submit(_submission("urn:test:order:5", "sleep", "30"))
        news: set[str] = set()
        _until(lambda: news.update(backend.changed_orders() or ()) or "urn:test:order:4" in news)
        assert news == {"urn:test:order:4"}
        woken.clear()
        backend._launcher._process.kill()  # what it started is no longer reported
        assert woken.wait(20)
        assert backend.changed_orders() is None
    finally:
        backend.cancel("urn:test:order:5")
        stop.set()
