"""Following an order to its end. A feed yields what changed (the order as it now is, and the
log lines new since the last update); the commands render updates and never ask the API
themselves, so the event stream (GET /1/orders/{id}/events) can replace polling by being
another feed."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from app.client import MarketplaceClient
from app.client.models import LogLine, Order
from app.status import FINISHED_ORDER_STATUSES

LOG_PAGE = 1000


@dataclass(frozen=True)
class OrderUpdate:
    order: Order
    new_lines: list[LogLine] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.order["status"] in FINISHED_ORDER_STATUSES


class OrderFeed(Protocol):
    def updates(self) -> Iterator[OrderUpdate]:
        """Updates until (and including) the one where the order has finished."""
        ...


class PollingFeed:
    """Reads the order, then its log lines past those already seen, every `interval` seconds.
    The logs are read after the order, so the update that says it finished has its last lines."""

    def __init__(self, client: MarketplaceClient, order_id: str, interval: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep):
        self._client, self._order_id, self._interval, self._sleep = client, order_id, interval, sleep
        self._seen = 0  # log lines come in a stable order (by position), so an offset finds the new ones

    def updates(self) -> Iterator[OrderUpdate]:
        while True:
            order = self._client.get_order(self._order_id)
            update = OrderUpdate(order, self._new_lines())
            yield update
            if update.finished:
                return
            self._sleep(self._interval)

    def _new_lines(self) -> list[LogLine]:
        lines: list[LogLine] = []
        while True:
            page = self._client.list_order_logs(self._order_id, offset=self._seen, limit=LOG_PAGE)["items"]
            lines += page
            self._seen += len(page)
            if len(page) < LOG_PAGE:
                return lines
