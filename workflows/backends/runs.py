"""A local order's run, recorded on disk so that it outlives the worker that started it.

One folder per order (`<runs>/<object name>/`), written in this order:
- `submission.json`: what to run, written by the worker before it starts the supervisor;
- `run.lock`: the claim. The supervisor links it into place already locked (flock), so exactly
  one supervisor runs an order, and the lock is held exactly as long as that supervisor lives;
- `run.json`: the supervisor's and the workload's process ids, start time and uid;
- `output.log`: the workload's output, one `<RFC 3339 time> <text>` line per line, bounded;
- `exit.json`: how it ended, written (atomically) by the supervisor before it lets go of the lock;
- `cancel`: a stop request from the worker, which never waits for the process itself;
- `work/` and `tmp/`: the workload's own folders;
- `inputs/<parameter>`: the order's input artifacts, each copied whole by the worker before it
  writes the submission (through `incoming/`, which the workload never sees);
- `outputs/`: where the workload leaves its products, read by the worker once the run has ended;
- `forgotten`: the worker has stored the order's end and products, so the folder may go.
A worker, restarted at any point, reads the state back from these files alone.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from workflows.backends.base import LogLine
from workflows.names import object_name

TASK_NAME = "main"


class RunState(Enum):
    NOT_CLAIMED = "not claimed"  # no supervisor has taken the order (yet)
    RUNNING = "running"          # its supervisor holds the lock
    ENDED = "ended"              # exit.json says how
    ABANDONED = "abandoned"      # claimed, but the supervisor died without an exit record


@dataclass(frozen=True)
class Exit:
    code: int | None     # the workload's exit code (None if it never started)
    reason: str | None   # why it was stopped or could not start; None when it ended by itself


def write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(document))
    os.replace(temporary, path)


def _in_folder(name: str) -> property:
    """A file of the run's folder, its path made when asked for (a worker's pass makes many
    RunFolders and uses a few of their paths)."""
    return property(lambda run: run.path / name)


class RunFolder:
    submission = _in_folder("submission.json")
    lock = _in_folder("run.lock")
    record = _in_folder("run.json")
    output = _in_folder("output.log")
    exit = _in_folder("exit.json")
    cancel_request = _in_folder("cancel")
    work = _in_folder("work")
    tmp = _in_folder("tmp")
    inputs = _in_folder("inputs")
    incoming = _in_folder("incoming")
    outputs = _in_folder("outputs")
    forgotten = _in_folder("forgotten")

    def __init__(self, runs_dir: Path, order_id: str):
        self.order_id = order_id
        self.path = runs_dir / object_name(order_id)

    # -- the worker's side ----------------------------------------------------------------
    def write_submission(self, document: dict[str, Any]) -> None:
        """Once: a retried submit leaves the first submission as it was."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not self.submission.exists():
            write_json_atomically(self.submission, document)

    def store_input(self, parameter: str, content: Callable[[], Iterable[bytes]]) -> None:
        """Copy an input once: it is renamed into place only whole, so a copy cut short by a
        crash is made again by the retried submit, and a finished one is not."""
        target = self.inputs / parameter
        if target.exists():
            return
        for folder in (self.inputs, self.incoming):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.incoming)
        try:
            with os.fdopen(fd, "wb") as file:
                for chunk in content():
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def mark_forgotten(self) -> None:
        if self.path.exists():
            self.forgotten.touch()

    def state(self) -> RunState:
        try:
            fd = os.open(self.lock, os.O_RDONLY)
        except FileNotFoundError:
            return RunState.NOT_CLAIMED
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return RunState.RUNNING
        finally:
            os.close(fd)
        return RunState.ENDED if self.exit.exists() else RunState.ABANDONED

    def ended(self) -> Exit:
        document = json.loads(self.exit.read_text())
        return Exit(document.get("code"), document.get("reason"))

    def request_cancel(self) -> None:
        if self.path.exists():
            self.cancel_request.touch()

    def read_output(self, offset: int) -> tuple[list[LogLine], int]:
        """Whole lines from byte `offset` on, and the offset after the last one."""
        try:
            with open(self.output, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return [], offset
        complete = data[:data.rfind(b"\n") + 1]
        return [parse_output_line(raw) for raw in complete.splitlines()], offset + len(complete)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    # -- the supervisor's side ------------------------------------------------------------
    def claim(self) -> int | None:
        """The locked lock file's descriptor if this process now owns the run, else None."""
        claiming = self.path / f".claim.{os.getpid()}"
        fd = os.open(claiming, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.link(claiming, self.lock)  # atomic, and fails if another supervisor linked first
        except FileExistsError:
            os.close(fd)
            return None
        finally:
            claiming.unlink()
        return fd

    def write_exit(self, code: int | None, reason: str | None) -> None:
        write_json_atomically(self.exit, {"code": code, "reason": reason,
                                          "finished-at": datetime.now(UTC).isoformat()})


def format_output_line(text: str) -> bytes:
    return f"{datetime.now(UTC).isoformat()} {text}\n".encode()


def parse_output_line(raw: bytes) -> LogLine:
    stamp, _, text = raw.decode("utf-8", errors="replace").partition(" ")
    return LogLine(datetime.fromisoformat(stamp), TASK_NAME, text)


def unended_run_orders(runs_dir: Path) -> set[str]:
    """The order ids of the runs that have not ended (live, starting, or never claimed)."""
    orders = set()
    for submission in runs_dir.glob("*/submission.json"):
        if not (submission.parent / "exit.json").exists():
            try:
                orders.add(json.loads(submission.read_text())["order_id"])
            except (OSError, ValueError, KeyError):
                continue  # removed meanwhile, or not ours
    return orders


def remove_runs_ended_before(runs_dir: Path, seconds_ago: float, unforgotten_seconds_ago: float) -> int:
    """Remove the folders of runs that ended more than `seconds_ago` and that the worker has
    forgotten (their products are stored), or more than `unforgotten_seconds_ago` (a worker that
    never came back); how many were removed."""
    now, removed = time.time(), 0
    for exit_record in runs_dir.glob("*/exit.json"):
        try:
            forgotten = (exit_record.parent / "forgotten").exists()
            if exit_record.stat().st_mtime < now - (seconds_ago if forgotten else unforgotten_seconds_ago):
                shutil.rmtree(exit_record.parent, ignore_errors=True)
                removed += 1
        except FileNotFoundError:
            pass
    return removed
