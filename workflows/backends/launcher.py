"""Starting supervisors without starting Python: `python -m workflows.backends.launcher`.

A supervisor started as a new interpreter pays ~70 ms of start-up and imports before it claims
its run; the launcher pays that once. It is a small single-threaded process that has imported the
supervisor, and forks one child per run folder it is sent; the child leaves the launcher's
session (so that it outlives the launcher, the worker and their process group, as a supervisor
started on its own does) and runs `supervisor.main`. Everything that makes a run safe stays in the
supervisor: its claim (one supervisor per run, ever), limits, sandbox, output and exit record.

Its protocol, one line each: the worker writes `<run folder>`; the launcher answers
`ended <run folder> <exit status>` when that supervisor has exited, so the worker looks at the run
at once instead of at its next pass. It exits when its input closes (the worker has gone); the
supervisors it started keep running.
"""
from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable

from workflows.backends import supervisor

log = logging.getLogger(__name__)


class Supervisor:
    """A supervisor the launcher started: `poll()` is None until it has exited, as Popen's."""

    def __init__(self):
        self.returncode: int | None = None
        self.lost = False  # its launcher died before it said: whether it runs is unknown

    def poll(self) -> int | None:
        return self.returncode


class Launcher:
    """The worker's side: one launcher process, started when first needed and again if it died.
    `ended` is called (from a thread of its own) with a supervisor's run folder when it has exited,
    and with None when the launcher died: whether the supervisors it started still run is unknown."""

    def __init__(self, ended: Callable[[str | None], None] = lambda folder: None):
        self.ended = ended
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._started: dict[str, Supervisor] = {}  # run folder -> its supervisor, until it exits

    def start(self, folder: str) -> Supervisor:
        if "\n" in folder:
            raise ValueError(f"{folder!r} is not a run folder")
        with self._lock:
            supervisor = self._started[folder] = Supervisor()
            for attempt in (1, 2):
                process = self._running()
                try:
                    process.stdin.write(f"{folder}\n".encode())
                    process.stdin.flush()
                    return supervisor
                except OSError:  # it died: its supervisors run on, a new launcher starts this one
                    if attempt == 2:
                        raise
                    self._process = None
        raise AssertionError("unreachable")

    def _running(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen([sys.executable, "-m", "workflows.backends.launcher"],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            threading.Thread(target=self._read, args=(self._process,), name="launcher-reader", daemon=True).start()
        return self._process

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            kind, _, rest = line.decode().rstrip("\n").partition(" ")
            folder, _, status = rest.rpartition(" ")
            if kind == "ended":
                with self._lock:
                    supervisor = self._started.pop(folder, None)
                if supervisor is not None:
                    supervisor.returncode = int(status)
                self.ended(folder)
        process.wait()
        with self._lock:
            if self._process is process:  # died: what it started is no longer reported
                log.warning("the supervisor launcher exited (%s); starting another when needed", process.returncode)
                self._process = None
                for supervisor in self._started.values():
                    supervisor.lost = True
                self._started.clear()
        self.ended(None)

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                self._process.stdin.close()  # it exits; the supervisors it started stay


def _run_supervisor(folder: str) -> int:
    """In the forked child: a session of its own, the run's log as its output, then the supervisor."""
    os.setsid()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    log = os.open(os.path.join(folder, "supervisor.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    try:
        return supervisor.main(folder)
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
        return exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # anything else is a supervisor that could not start: say why in its log
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _exit_status(status: int) -> int:
    return os.waitstatus_to_exitcode(status)


def main() -> int:
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: None)  # a server shutting down must not take this along
    children: dict[int, str] = {}
    pending = b""
    while True:
        ready, _, _ = select.select([0, wakeup_read], [], [])
        if wakeup_read in ready:
            os.read(wakeup_read, 4096)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            folder = children.pop(pid, None)
            if folder is not None:
                try:
                    os.write(1, f"ended {folder} {_exit_status(status)}\n".encode())
                except OSError:
                    return 0  # the worker has gone
        if 0 not in ready:
            continue
        data = os.read(0, 65536)
        if not data:
            return 0  # the worker has gone; the supervisors stay
        *lines, pending = (pending + data).split(b"\n")
        for line in lines:
            folder = line.decode()
            pid = os.fork()
            if pid == 0:
                os.close(wakeup_read)
                os.close(wakeup_write)
                os._exit(_run_supervisor(folder))
            children[pid] = folder


if __name__ == "__main__":
    sys.exit(main())
