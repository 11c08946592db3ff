"""An order's pod logs as one sequence of lines that only grows, bounded in bytes.

The worker stores the lines it is handed and says how many it keeps (`logs_kept`), so line N
must be the same line on every read, also for a restarted worker that remembers nothing. Hence:
- pods are read in creation order and, while the order runs, only up to the first pod that has
  not finished: the lines of a later pod (a parallel Argo step) wait until then;
- a line is taken once it ends with a newline, or once its pod has finished;
- the bound counts the log's bytes as the API sends them (timestamps and newlines included), the
  same way on every read, so the cut falls on the same line each time; one marker line ends the
  sequence there.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from workflows.backends.base import LogLine
from workflows.backends.cluster_status import PodView

CUT_MESSAGE = "[marketplace] output cut: more than {limit} bytes"
LOG_CONTAINER = "main"  # the workload's container, in Job pods and Argo pods alike


class PodLogSource(Protocol):
    def pod_log(self, name: str, container: str, limit_bytes: int) -> bytes | None: ...


def parse_log_line(line: str, task: str) -> LogLine:
    """A line read with `timestamps=True`: an RFC 3339 time (nanoseconds), a space, the text."""
    stamp, _, text = line.partition(" ")
    try:
        seconds, _, fraction = stamp.rstrip("Z").partition(".")
        time_ = datetime.fromisoformat(seconds).replace(tzinfo=UTC)
        time_ = time_.replace(microsecond=int((fraction + "000000")[:6]))
    except ValueError:
        return LogLine(datetime.now(UTC), task, line)
    return LogLine(time_, task, text)


@dataclass(frozen=True)
class PodLines:
    lines: list[LogLine]
    size: int  # bytes of the log they take, as sent
    cut: bool  # the budget ends within this log


def bounded_lines(raw: bytes, budget: int, task: str, complete: bool) -> PodLines:
    """The lines of one pod's log that fit `budget` bytes. `raw` is what was read with a limit of
    `budget + 1` bytes: more than the budget means the cut falls within it. An unterminated last
    line is taken only from a `complete` log (its container has ended)."""
    *ended_lines, tail = raw.split(b"\n")
    lines, size = [], 0
    for line in ended_lines:
        if size + len(line) + 1 > budget:
            return PodLines(lines, size, cut=True)
        size += len(line) + 1
        if line:
            lines.append(parse_log_line(line.decode("utf-8", errors="replace"), task))
    if len(raw) > budget:
        return PodLines(lines, size, cut=True)  # the rest does not fit
    if tail and complete:
        lines.append(parse_log_line(tail.decode("utf-8", errors="replace"), task))
        size += len(tail)
    return PodLines(lines, size, cut=False)


@dataclass(frozen=True)
class Tally:
    """A finished pod's share of the sequence, so that it is not read again once stored."""

    lines: int
    size: int


class LogReader:
    """Reads orders' pod logs: for a running order at most every `poll_seconds`, for an ended one
    whenever asked; remembers only counts, never lines."""

    def __init__(self, client: PodLogSource, limit_bytes: int, poll_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self._client, self._limit, self._poll_seconds, self._clock = client, limit_bytes, poll_seconds, clock
        self._next_read: dict[str, float] = {}
        self._tallies: dict[str, dict[str, Tally]] = {}  # order id -> finished pod -> its share
        self._cut_length: dict[str, int] = {}  # order id -> lines up to and with the cut marker

    def due(self, order_id: str) -> bool:
        return self._clock() >= self._next_read.get(order_id, -math.inf)

    def read(self, order_id: str, pods: Sequence[PodView], logs_kept: int, ended: bool) -> list[LogLine]:
        """The order's log lines after the first `logs_kept`."""
        if logs_kept >= self._cut_length.get(order_id, math.inf):
            return []
        self._next_read[order_id] = self._clock() + self._poll_seconds
        tallies = self._tallies.setdefault(order_id, {})
        skipped, budget, lines = 0, self._limit, []
        for pod in sorted(pods, key=lambda p: p.order_key):
            tally = tallies.get(pod.name)
            if tally is not None and not lines and skipped + tally.lines <= logs_kept:
                skipped, budget = skipped + tally.lines, budget - tally.size  # stored already
                continue
            complete = ended or pod.finished
            raw = self._client.pod_log(pod.name, LOG_CONTAINER, budget + 1)
            if raw is None:
                if ended:
                    continue  # gone for good: the rest still counts
                break  # not started yet: later pods wait for it
            read = bounded_lines(raw, budget, pod.task or LOG_CONTAINER, complete)
            lines += read.lines
            budget -= read.size
            if read.cut:
                lines.append(LogLine(datetime.now(UTC), pod.task or LOG_CONTAINER,
                                     CUT_MESSAGE.format(limit=self._limit)))
                self._cut_length[order_id] = skipped + len(lines)
                break
            if not complete:
                break
            tallies[pod.name] = Tally(len(read.lines), read.size)
        return lines[max(logs_kept - skipped, 0):]

    def forget(self, order_id: str) -> None:
        for kept in (self._next_read, self._tallies, self._cut_length):
            kept.pop(order_id, None)
