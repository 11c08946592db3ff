"""List pages at depth: 100,000 services, `$filter=status eq 'ready'`, 100-row pages reached by
following `links.next` (the page tokens the API makes), on SQLite and PostgreSQL. Prints each
depth's median API latency and its ratio to page 1, beside the same SQL statements (all a call
of the page read again ran) on the raw driver: page 1, the page and its SQL run in turn, each
ratio the median of the rounds' ratios. A page read again finds its items' JSON kept
(app.kept_items); "cold" is the same page with nothing kept (its items read and rendered). "floor"
is what the stack allows a page beside its SQL: the bare reference app's GET
(tests/bench/reference_app.py) through the same test client, plus the SQL, over the SQL.

    python -m tests.bench.list_depths      (BENCH_ROWS, BENCH_RUNS)
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from app import create_app
from app.auth import SharedSecretVerifier
from app.config import Config
from app.kept_items import RenderedItems
from tests.bench import reference_app
from tests.bench.bench_lists import ROWS, SECRET, load, postgres_database

RUNS = int(os.environ.get("BENCH_RUNS", 15))
PAGE = 100
FILTER = "status eq 'ready'"
DEPTHS = (1, 10, 100, 500, 750)


def page_urls(client, headers) -> dict[str, str]:
    """The URL of each measured page, found by following links.next from the first."""
    wanted, urls, depth = set(DEPTHS), {}, 1
    url = f"/1/services?$top={PAGE}&$filter={FILTER}"
    while True:
        if depth in wanted:
            urls[str(depth)] = url
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        following = response.get_json()["links"].get("next")
        if following is None:
            urls[f"last ({depth})"] = url
            return urls
        parts = urlsplit(following)
        url, depth = f"{parts.path}?{parts.query}", depth + 1


def raw_sql(engine: sa.Engine, statements: list) -> tuple[Callable[[], None], Callable[[], None]]:
    """The statements the API ran, on the driver's own connection (no SQLAlchemy in the way),
    and what closes that connection."""
    connection = engine.raw_connection()

    def run():
        for statement, parameters in statements:
            cursor = connection.cursor()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            cursor.close()
    return run, connection.close


def alternating_ms(*actions: Callable[[], object]) -> list[list[float]]:
    """The times of `actions` run in turn, RUNS rounds (a shared machine's load falls on all alike)."""
    for action in actions:
        action()
    timings: list[list[float]] = [[] for _ in actions]
    for _ in range(RUNS):
        for action, times in zip(actions, timings, strict=True):
            started = time.perf_counter()
            action()
            times.append((time.perf_counter() - started) * 1000)
    return timings


def _median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def measure(label: str, url: str) -> list[tuple[str, float, float]]:
    app = create_app(Config(database_url=url, secret_key=SECRET, data_dir=Path(tempfile.gettempdir())))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {SharedSecretVerifier(SECRET).issue('bench', 3600)}"}
    engine = app.extensions["database"].engine
    captured: list = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        captured.append((statement, parameters))
    rows = []
    urls = page_urls(client, headers)
    first_page = partial(client.get, urls["1"], headers=headers)
    reference_get = partial(reference_app.app.test_client().get, "/items/1")

    def cold(page_url):
        kept, app.extensions["rendered_items"] = app.extensions["rendered_items"], RenderedItems()
        try:  # nothing kept: the page's items are read and rendered
            client.get(page_url, headers=headers)
        finally:
            app.extensions["rendered_items"] = kept
    for depth, page_url in urls.items():
        client.get(page_url, headers=headers)  # its items kept (walking 1,000 pages evicted the first)
        captured.clear()
        sa.event.listen(engine, "before_cursor_execute", capture)
        client.get(page_url, headers=headers)
        sa.event.remove(engine, "before_cursor_execute", capture)
        raw, close = raw_sql(engine, list(captured))
        try:  # page 1, this page, its SQL and the page cold in turn: the ratios compare runs made moments apart
            first, api, sql, unkept, reference = alternating_ms(
                first_page, partial(client.get, page_url, headers=headers), raw, partial(cold, page_url), reference_get)
        finally:
            close()
        rows.append((depth, statistics.median(api), statistics.median(sql)))
        floor = [reference_ms + sql_ms for reference_ms, sql_ms in zip(reference, sql, strict=True)]
        print(f"{label:10} page {depth:>11}: API {statistics.median(api):7.2f} ms ({_median_ratio(api, first):4.2f}x "
              f"page 1)  raw SQL {statistics.median(sql):6.2f} ms in {len(captured)} statement(s)  "
              f"(API/SQL {_median_ratio(api, sql):5.2f}x)  cold {statistics.median(unkept):6.2f} ms "
              f"({_median_ratio(unkept, sql):5.2f}x)  floor {_median_ratio(floor, sql):4.2f}x",
              flush=True)
    app.extensions["database"].dispose()
    return rows


def main() -> int:
    print(f"{ROWS} services, $filter={FILTER}, {PAGE}-row pages by links.next, median of {RUNS}")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        load(url)
        measure("SQLite", url)
    with postgres_database() as url:
        if url is not None:
            load(url)
            measure("PostgreSQL", url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
