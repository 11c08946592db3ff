"""Live progress of an order for people: its status, the time waited and its newest log lines,
redrawn in place (rich Live) as a feed's updates arrive."""
from __future__ import annotations

import time
from collections import deque

from rich.console import Group
from rich.live import Live
from rich.text import Text

from app.console.follow import OrderFeed, OrderUpdate
from app.console.output import console, status_style

NEWEST_LINES = 10


def format_line(line) -> str:
    return f"{line['time']}  [{line['task']}] {line['message']}"


def format_event(event) -> str:
    """One event in a line: its id, time and kind, then what it says."""
    details = {key: value for key, value in event.items() if key not in ("id", "time", "event", "order-id")}
    said = "  ".join(f"{key}={value}" for key, value in details.items() if value is not None)
    return f"{event['id']:>6}  {event['time']}  {event['event']:<8} {said}"


def _view(update: OrderUpdate, elapsed: float, lines: deque) -> Group:
    order = update.order
    status = Text.assemble(("order ", "bold"), order["id"], "  ", (order["status"], status_style(order["status"])),
                           f"  {elapsed:.0f}s")
    if order.get("status-message"):
        status.append(f"  {order['status-message']}", style="dim")
    return Group(status, *(Text(format_line(line), style="dim") for line in lines))


def watch(feed: OrderFeed) -> OrderUpdate:
    """Show the order's progress until it has finished; answers the final update. On a terminal
    the view is redrawn in place; elsewhere (CI logs, pipes) each change is a line of its own."""
    out = console()
    return _redrawn(feed, out) if out.is_terminal else _logged(feed, out)


def _redrawn(feed: OrderFeed, out) -> OrderUpdate:
    started = time.monotonic()
    lines: deque = deque(maxlen=NEWEST_LINES)
    last = None
    with Live(console=out, auto_refresh=False, transient=False) as live:
        for last in feed.updates():
            lines.extend(last.new_lines)
            live.update(_view(last, time.monotonic() - started, lines), refresh=True)
    assert last is not None, "a feed yields at least one update"
    return last


def _logged(feed: OrderFeed, out) -> OrderUpdate:
    started, status, last = time.monotonic(), None, None
    for last in feed.updates():
        if last.order["status"] != status:
            status = last.order["status"]
            out.print(_view(last, time.monotonic() - started, deque()), highlight=False)
        for line in last.new_lines:
            out.print(Text(format_line(line), style="dim"))
    assert last is not None, "a feed yields at least one update"
    return last
