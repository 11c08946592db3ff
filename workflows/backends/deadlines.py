"""When each order is next due for a look that no watch event will prompt (a log read, the end of
its grace time), earliest first."""
from __future__ import annotations

import heapq


class Deadlines:
    """Not thread-safe: the backend holds its lock around every call."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._at: dict[str, float] = {}  # the live deadline of each order; heap entries may be stale

    def arm(self, order_id: str, at: float) -> None:
        """Due at `at`, unless due earlier already."""
        if self._at.get(order_id, at + 1) > at:
            self._at[order_id] = at
            heapq.heappush(self._heap, (at, order_id))

    def pop_due(self, now: float) -> set[str]:
        due = set()
        while self._heap and self._heap[0][0] <= now:
            at, order_id = heapq.heappop(self._heap)
            if self._at.get(order_id) == at:
                del self._at[order_id]
                due.add(order_id)
        return due

    def forget(self, order_id: str) -> None:
        self._at.pop(order_id, None)  # its heap entries are skipped when they come up
