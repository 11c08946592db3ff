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
from app.client.errors import ApiError
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


class _LogReader:
    """The order's log lines past those already read (they come in a stable order, by position,
    so an offset finds the new ones)."""

    def __init__(self, client: MarketplaceClient, order_id: str):
        self._client, self._order_id = client, order_id
        self._seen = 0

    def _update(self) -> OrderUpdate:
        """The order as it is, then its new lines: the update that says it finished has its last lines."""
        return OrderUpdate(self._client.get_order(self._order_id), self._new_lines())

    def _new_lines(self) -> list[LogLine]:
        lines: list[LogLine] = []
        while True:
            page = self._client.list_order_logs(self._order_id, offset=self._seen, limit=LOG_PAGE)["items"]
            lines += page
            self._seen += len(page)
            if len(page) < LOG_PAGE:
                return lines

    def _poll(self, interval: float, sleep: Callable[[float], None]) -> Iterator[OrderUpdate]:
        while True:
            update = self._update()
            yield update
            if update.finished:
                return
            sleep(interval)


class PollingFeed(_LogReader):
    """Reads the order and its new log lines every `interval` seconds."""

    def __init__(self, client: MarketplaceClient, order_id: str, interval: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(client, order_id)
        self._interval, self._sleep = interval, sleep

    def updates(self) -> Iterator[OrderUpdate]:
        return self._poll(self._interval, self._sleep)


class EventFeed(_LogReader):
    """Reads the order and its new log lines when its event stream says something happened; where
    the server cannot stream (at its bound of streams: 503), it polls instead."""

    def updates(self) -> Iterator[OrderUpdate]:
        update = self._update()
        yield update
        if update.finished:
            return
        try:
            for event in self._client.follow_order_events(self._order_id):
                if event["event"] in ("status", "logs"):
                    update = self._update()
                    yield update
                    if update.finished:
                        return
        except ApiError as error:
            if error.status != 503:
                raise
        yield from self._poll(1.0, time.sleep)
