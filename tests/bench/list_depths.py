"""List pages at depth: 100,000 services, `$filter=status eq 'ready'`, 100-row pages reached by
following `links.next` (the page tokens the API makes), on SQLite and PostgreSQL. Prints each
depth's median API latency and its ratio to page 1, beside the same SQL on the raw driver.

    python -m tests.bench.list_depths      (BENCH_ROWS, BENCH_RUNS)
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from app import create_app
from app.auth import SharedSecretVerifier
from app.config import Config
from tests.bench.bench_lists import ROWS, SECRET, load, median_ms, postgres_database

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


def raw_sql_ms(engine: sa.Engine, statement: str, parameters) -> float:
    """The statement the API ran, on the driver's own connection (no SQLAlchemy in the way)."""
    connection = engine.raw_connection()
    try:
        def run():
            cursor = connection.cursor()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            cursor.close()
        return median_ms(run, RUNS)
    finally:
        connection.close()


def measure(label: str, url: str) -> list[tuple[str, float, float]]:
    app = create_app(Config(database_url=url, secret_key=SECRET, data_dir=Path(tempfile.gettempdir())))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {SharedSecretVerifier(SECRET).issue('bench', 3600)}"}
    engine = app.extensions["database"].engine
    captured: list = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM services" in statement and "ORDER BY" in statement:
            captured.append((statement, parameters))
    rows = []
    for depth, page_url in page_urls(client, headers).items():
        api = median_ms(lambda page_url=page_url: client.get(page_url, headers=headers), RUNS)
        captured.clear()
        sa.event.listen(engine, "before_cursor_execute", capture)
        client.get(page_url, headers=headers)
        sa.event.remove(engine, "before_cursor_execute", capture)
        raw = raw_sql_ms(engine, *captured[0])
        rows.append((depth, api, raw))
        first = rows[0][1]
        print(f"{label:10} page {depth:>11}: API {api:7.2f} ms ({api / first:4.2f}x page 1)  "
              f"raw SQL {raw:6.2f} ms  (API/SQL {api / raw:5.2f}x)", flush=True)
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
