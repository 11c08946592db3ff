"""The supervisor of one local order: `python -m workflows.backends.supervisor RUN_FOLDER`.

The worker starts it in a session of its own, so that it outlives a worker or server that is
killed: it claims the run (only one supervisor ever runs an order), starts the workload in its
sandbox, keeps its output as timestamped lines up to the output limit, enforces the deadline,
stops it on a cancel request (TERM, then KILL after the grace period), and records how it ended.
It imports only what it needs, to start fast.
"""
from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from workflows.backends.runs import RunFolder, format_output_line, write_json_atomically
from workflows.backends.sandbox import Limits, SandboxSettings, base_environment, order_uid, sandboxed_command

MAX_LINE_BYTES = 16 * 1024
POLL_SECONDS = 0.1


class OutputKeeper:
    """Writes the workload's output lines to the run's log, up to `budget` bytes, then says it cut."""

    def __init__(self, path: Path, budget: int):
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._budget = budget
        self._cut = False

    def keep(self, raw: bytes) -> None:
        if self._cut:
            return
        line = format_output_line(raw.rstrip(b"\n").decode("utf-8", errors="replace"))
        if len(line) > self._budget:
            self._cut = True
            line = format_output_line("[marketplace] output cut: the order wrote more than its limit "
                                      "of kept output; the rest was not kept")
        else:
            self._budget -= len(line)
        os.write(self._fd, line)

    def read_all(self, stream) -> None:
        for raw in iter(lambda: stream.readline(MAX_LINE_BYTES), b""):
            self.keep(raw)


def _signal_workload(process: subprocess.Popen, signum: int, sandboxed: bool) -> None:
    """TERM reaches the workload's processes but not bubblewrap itself, whose death would KILL
    them at once; KILL ends bubblewrap, and the PID namespace with everything in it."""
    if not sandboxed or signum == signal.SIGKILL:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass
        return
    for pid in _process_group_members(process.pid):
        if pid != process.pid:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass


def _process_group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[2]) == pgid:  # field 5, after "(comm)"
                members.append(int(entry))
    return members


def _exit_watch(process: subprocess.Popen) -> int | None:
    """A descriptor readable once the workload has exited (Linux's pidfd), or None without one."""
    try:
        return os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        return None


def _ended_within(process: subprocess.Popen, seconds: float, exit_watch: int | None) -> bool:
    """Waits on the pidfd, so that an exit is seen at once (Popen.wait(timeout) polls with sleeps)."""
    if exit_watch is not None:
        if process.poll() is None:
            select.select([exit_watch], [], [], seconds)
        return process.poll() is not None
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _rlimits(limits: Limits):
    """The limits of an unsandboxed workload (the process count would be the server user's)."""
    def apply() -> None:
        for kind, value in ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_CPU, limits.cpu_seconds),
                            (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files)):
            resource.setrlimit(kind, (value, value))
    return apply


def _prepare_folders(run: RunFolder, order_id: str) -> None:
    """The workload's folders, its own: as root, owned by the order's uid (the inputs too, which
    the worker copied; the sandbox binds them read-only)."""
    run.inputs.mkdir(mode=0o700, exist_ok=True)
    owned = [run.work, run.tmp, run.outputs]
    for folder in owned:
        folder.mkdir(mode=0o700, exist_ok=True)
    if os.geteuid() == 0:
        uid = order_uid(order_id)
        for path in [*owned, run.inputs, *run.inputs.iterdir()]:
            os.chown(path, uid, uid, follow_symlinks=False)


def _start(run: RunFolder, submission: dict, limits: Limits, sandbox: SandboxSettings) -> subprocess.Popen:
    order_id = submission["order_id"]
    _prepare_folders(run, order_id)
    common = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "process_group": 0}
    if sandbox.mode == "bubblewrap":
        command = sandboxed_command(submission["argv"], submission["env"], str(run.work), str(run.tmp), order_id,
                                    limits, sandbox, inputs=str(run.inputs), outputs=str(run.outputs))
        return subprocess.Popen(command, env={}, **common)
    drop = {"user": order_uid(order_id), "group": order_uid(order_id), "extra_groups": []} if os.geteuid() == 0 else {}
    return subprocess.Popen(submission["argv"], cwd=run.work, preexec_fn=_rlimits(limits),
                            env={**base_environment(home=str(run.work)), **submission["env"]}, **drop, **common)


def supervise(run: RunFolder, submission: dict) -> None:
    limits = Limits(**submission["limits"])
    given = submission["sandbox"]
    sandbox = SandboxSettings(**{**given, "read_only_paths": tuple(given["read_only_paths"])})
    if run.cancel_request.exists():
        run.write_exit(None, "cancelled")
        return
    try:
        process = _start(run, submission, limits, sandbox)
    except OSError as error:
        run.write_exit(None, f"the command could not start: {error}")
        return
    started = time.monotonic()
    write_json_atomically(run.record, {"supervisor-pid": os.getpid(), "pid": process.pid, "pgid": process.pid,
                                       "started": time.time(), "sandbox": sandbox.mode,
                                       "uid": order_uid(submission["order_id"]) if os.geteuid() == 0 else os.getuid()})
    keeper = OutputKeeper(run.output, submission["log_bytes"])
    reader = threading.Thread(target=keeper.read_all, args=(process.stdout,), daemon=True)
    reader.start()
    reason, kill_at = None, None
    exit_watch = _exit_watch(process)
    while not _ended_within(process, POLL_SECONDS, exit_watch):
        if reason is None:
            if time.monotonic() - started > limits.deadline_seconds:
                reason = f"stopped after the {limits.deadline_seconds}s deadline"
            elif run.cancel_request.exists():
                reason = "cancelled"
            if reason is not None:
                _signal_workload(process, signal.SIGTERM, sandbox.mode == "bubblewrap")
                kill_at = time.monotonic() + limits.kill_grace_seconds
        elif time.monotonic() > kill_at:
            _signal_workload(process, signal.SIGKILL, sandbox.mode == "bubblewrap")
    if sandbox.mode != "bubblewrap":
        _signal_workload(process, signal.SIGKILL, False)  # what it left behind in its group
    reader.join(timeout=limits.kill_grace_seconds)
    run.write_exit(process.returncode, reason)


def main(folder: str) -> int:
    path = Path(folder)
    submission = json.loads((path / "submission.json").read_text())
    run = RunFolder(path.parent, submission["order_id"])
    if run.path != path:
        raise SystemExit(f"{folder} is not the run folder of {submission['order_id']}")
    lock = run.claim()
    if lock is None:
        return 0  # another supervisor runs this order
    # A server shutting down must not take its orders along. A handler, not SIG_IGN, which the
    # workload would inherit.
    signal.signal(signal.SIGTERM, lambda *_: None)
    supervise(run, submission)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
