"""The embedded backend: a basic order runs as a sandboxed process on this machine.

No shell: the command line is an argument list. The image is recorded but not pulled, so the
command must exist here. Each order's run is a folder on disk (`runs.py`) looked after by a
supervisor process of its own (`supervisor.py`), which enforces the order's limits and records
its output and its end; this backend writes what to run, has the supervisor started (forked by
a launcher process that has imported it already, `launcher.py`, which also says when it exits:
the change feed that has the worker look at an ended run at once, and at the others once a
second), and reads the folder back. So a worker killed at any moment, once restarted, finds
every run where it stands: it re-attaches to live ones, collects those that ended meanwhile,
and starts again only a run that no supervisor ever claimed.

Data: the order's input artifacts are copied into its run folder before the run is recorded,
and an artifact parameter's value becomes the path of its copy; the workload leaves products in
its outputs folder, which `products` lists once the run has ended (workflows/output_files.py:
regular files only, no links, capped). Inside the sandbox the folders are /marketplace/inputs
(read-only) and /marketplace/outputs; without one, the real folders in the run folder. A run's
folder stays until the worker has forgotten the order (and the Job TTL has passed), so products
can be read again by a worker restarted after a crash.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kubernetes.utils.quantity import parse_quantity

from workflows.backends.base import Observation, Phase, ProducedFile, ProductList, Submission
from workflows.backends.launcher import Launcher, Supervisor
from workflows.backends.runs import RunFolder, RunState, remove_runs_ended_before, unended_run_orders
from workflows.backends.sandbox import Limits, SandboxSettings, command_exists, order_uid, resolve_mode
from workflows.basic import basic_command_line, order_environment
from workflows.order_data import INPUTS_DIR, OUTPUTS_DIR, data_environment, with_input_paths
from workflows.output_files import list_outputs, read_output
from workflows.parameters import NAME_PATTERN
from workflows.settings import CompileSettings

log = logging.getLogger(__name__)
LOST_MESSAGE = "this server has no record of the order's run"
ABANDONED_MESSAGE = "the order's supervisor process was killed before the order ended"
SWEEP_SECONDS = 60
LOOK_AT_ALL_SECONDS = 1.0  # a run's start and its new output have no news of their own: read this often
UNFORGOTTEN_KEEP_SECONDS = 30 * 86400  # an ended run the worker never forgot (it never came back)


def _ending(code: int | None, reason: str | None) -> tuple[Phase, str | None]:
    if reason is None and code == 0:
        return Phase.SUCCEEDED, None
    if reason is None:
        reason = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
    return Phase.FAILED, reason


class LocalBackend:
    workflow_types = frozenset({"basic"})

    def __init__(self, settings: CompileSettings, runs_dir: Path, limits: Limits = Limits(),
                 sandbox: SandboxSettings = SandboxSettings()):
        self._settings, self._runs_dir, self._limits = settings, runs_dir, limits
        mode, why_not = resolve_mode(sandbox.mode)
        self.sandbox = dataclasses.replace(sandbox, mode=mode)
        if why_not:
            log.warning("orders run WITHOUT a sandbox (%s): they can read what this server's user can read; "
                        "use this mode only for one trusted account", why_not)
        else:
            log.info("orders run in a bubblewrap sandbox (network %s)", "allowed" if sandbox.network else "off")
        self._supervisors: dict[str, Supervisor] = {}
        self._wake: Callable[[], None] = lambda: None  # the worker's, once started
        self._launcher = Launcher(self._supervisor_ended)
        self._log_offsets: dict[str, tuple[int, int]] = {}  # order → (lines read, byte offset)
        # The change feed: orders whose supervisor has exited, and when all are looked at next
        # (at once when this backend starts, which may be a restart, or when a launcher died).
        self._news_lock = threading.Lock()
        self._orders_of_folders: dict[str, str] = {}  # a started supervisor's run folder → its order
        self._ended: set[str] = set()
        self._look_at_all_after = float("-inf")

    def _run(self, order_id: str) -> RunFolder:
        return RunFolder(self._runs_dir, order_id)

    def _limits_of(self, basic: dict) -> Limits:
        memory = (basic.get("memory") or {}).get("limit")
        wanted = int(parse_quantity(memory)) if memory else self._limits.memory_bytes
        return dataclasses.replace(self._limits, memory_bytes=min(wanted, self._limits.memory_bytes),
                                   deadline_seconds=self._settings.active_deadline_seconds)

    def submit(self, submission: Submission) -> None:
        workflow = submission.workflow
        if workflow["type"] not in self.workflow_types:
            raise ValueError("the local backend runs basic workflows only")
        run = self._run(submission.order_id)
        if self.sandbox.mode == "bubblewrap":
            inputs_dir, outputs_dir = INPUTS_DIR, OUTPUTS_DIR
        else:
            inputs_dir, outputs_dir = str(run.inputs), str(run.outputs)
        names = [artifact.parameter for artifact in submission.inputs]
        if bad := [name for name in names if not NAME_PATTERN.fullmatch(name)]:
            raise ValueError(f"{bad[0]!r} is not a parameter name")
        argv = basic_command_line(workflow["basic"], with_input_paths(submission.parameters, names, inputs_dir))
        if not argv:
            raise ValueError("the local backend needs a command: it does not run images")
        if not command_exists(argv[0], self.sandbox):
            raise ValueError(f"{argv[0]!r} is not a program that orders can run on this server")
        if not run.submission.exists():  # once recorded, its inputs are all there
            for artifact in submission.inputs:
                run.store_input(artifact.parameter, artifact.open)
        run.write_submission({
            "order_id": submission.order_id, "argv": argv,
            "env": {**order_environment(submission.order_id, submission.service_id),
                    **data_environment(inputs_dir, outputs_dir)},
            "limits": dataclasses.asdict(self._limits_of(workflow["basic"])), "log_bytes": self._settings.log_bytes,
            "sandbox": dataclasses.asdict(self.sandbox)})
        self._start_supervisor(run)

    def _start_supervisor(self, run: RunFolder) -> None:
        """Idempotent: a second supervisor of the same run finds it claimed and exits. Started by
        the launcher, which says when it has exited: then the run has ended (or could not start),
        and the worker is woken to look at once."""
        with self._news_lock:
            self._orders_of_folders[str(run.path)] = run.order_id
        self._supervisors[run.order_id] = self._launcher.start(str(run.path))

    def _supervisor_ended(self, folder: str | None) -> None:
        with self._news_lock:
            if (order_id := self._orders_of_folders.pop(folder, None)) is not None:
                self._ended.add(order_id)
            else:  # a launcher died (or a folder not known here): look at every run
                self._look_at_all_after = float("-inf")
        self._wake()

    def _starting(self, run: RunFolder) -> Observation:
        supervisor = self._supervisors.get(run.order_id)
        if supervisor is None or supervisor.lost:  # restarted worker (or launcher): nobody claimed it, start one
            self._start_supervisor(run)
        elif supervisor.poll() is not None:
            problem = (run.path / "supervisor.log").read_text(errors="replace")[-500:].strip()
            why = problem or supervisor.returncode
            return Observation(Phase.GONE, f"the order's supervisor could not start: {why}")
        return Observation(Phase.WAITING, "starting")

    def observe(self, order_id: str, logs_kept: int) -> Observation:
        run = self._run(order_id)
        if not run.submission.exists():
            return Observation(Phase.GONE, LOST_MESSAGE)
        state = run.state()  # before the output: all of a run that has ended is in its log
        if state == RunState.NOT_CLAIMED:
            return self._starting(run)
        logs = self._new_logs(run, logs_kept)
        if state == RunState.RUNNING:
            return Observation(Phase.RUNNING, logs=logs)
        if state == RunState.ABANDONED:
            return Observation(Phase.GONE, ABANDONED_MESSAGE, logs=logs)
        ended = run.ended()
        return Observation(*_ending(ended.code, ended.reason), logs=logs)

    def _new_logs(self, run: RunFolder, logs_kept: int):
        lines_read, offset = self._log_offsets.get(run.order_id, (0, 0))
        if lines_read != logs_kept:  # a restarted worker, or a commit that did not happen
            lines_read, offset = 0, 0
        lines, offset = run.read_output(offset)
        skip = logs_kept - lines_read
        self._log_offsets[run.order_id] = (lines_read + len(lines), offset)
        return lines[skip:]

    def cancel(self, order_id: str) -> None:
        self._run(order_id).request_cancel()  # the supervisor stops the workload; nobody waits here

    def start(self, stop: threading.Event, changed: Callable[[], None] = lambda: None) -> None:
        self._wake = changed
        threading.Thread(target=self._sweep, args=(stop,), name="local-runs-sweep", daemon=True).start()
        # The launcher goes with the worker; the supervisors it started stay.
        threading.Thread(target=lambda: (stop.wait(), self._launcher.close()), name="launcher-closer",
                         daemon=True).start()

    def _sweep(self, stop: threading.Event) -> None:
        """Ended runs' folders stay as long as a finished Job would (MARKETPLACE_JOB_TTL_SECONDS)."""
        while not stop.wait(SWEEP_SECONDS):
            ttl = self._settings.ttl_seconds_after_finished
            if removed := remove_runs_ended_before(self._runs_dir, ttl, max(ttl, UNFORGOTTEN_KEEP_SECONDS)):
                log.info("removed %d ended runs", removed)

    def changed_orders(self) -> set[str] | None:
        """The orders whose supervisor has exited since the last call; None (look at all) once a
        second, for the output of live runs and the start of new ones, and after a restart."""
        with self._news_lock:
            if time.monotonic() >= self._look_at_all_after:
                self._look_at_all_after = time.monotonic() + LOOK_AT_ALL_SECONDS
                self._ended.clear()  # ended before the look: seen by it
                return None
            ended, self._ended = self._ended, set()
        return ended

    def unfinished_workloads(self) -> set[str]:
        return unended_run_orders(self._runs_dir)

    def products(self, order_id: str) -> ProductList:
        """The files in the run's outputs folder; as root, only those of the order's own uid."""
        outputs = self._run(order_id).outputs
        owner = order_uid(order_id) if os.geteuid() == 0 else None
        listing = list_outputs(outputs, self._settings.max_products, self._settings.max_product_bytes, owner)
        if listing.refused:
            log.warning("products left out: %s", "; ".join(listing.refused), extra={"order_id": order_id})
        return ProductList([ProducedFile(file.name, file.size, open=functools.partial(read_output, outputs, file))
                            for file in listing.files], listing.refused)

    def forget(self, order_id: str) -> None:
        run = self._run(order_id)
        run.mark_forgotten()  # its folder may go once the TTL has passed
        self._log_offsets.pop(order_id, None)
        self._supervisors.pop(order_id, None)  # one that has not exited yet ends on its own
        with self._news_lock:
            self._orders_of_folders.pop(str(run.path), None)

    def healthy(self) -> bool:
        return True
