"""Benchmark of the services list (issue 3): 100,000 services in SQLite and PostgreSQL.

For a selective filter, a broad filter and a sort on name: the median latency of the API call
(in-process WSGI, 100-row pages) for the first page and for a deep page reached by pageToken,
beside the same SQL run directly with SQLAlchemy Core (the floor). Run: `make bench`.
"""
from __future__ import annotations

import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from app.auth import SharedSecretVerifier
from app.config import Config
from app.db import make_engine
from app.migrate import refresh_statistics, upgrade
from app.query.filtering import compile_filter
from app.query.ordering import order_clauses, parse_orderby, seek_after
from app.query.tokens import make_token
from app.services.listing import SERVICE_LIST
from app.services.models import Service, ServiceTag
from tests.databases import NoPostgres, temporary_postgres_database

ROWS = int(os.environ.get("BENCH_ROWS", 100_000))
PAGE = 100
DEEP_PAGE = 1000
RUNS = int(os.environ.get("BENCH_RUNS", 15))
SECRET = "bench-secret-" + "x" * 40
WORDS = ["ndvi", "flood", "crop", "soil", "rain", "heat", "forest", "river", "urban", "coast", "snow", "wind"]
QUERIES = {
    "selective: provider-id eq": "provider-id eq 'urn:bench:provider:7'",
    "broad: contains(name,'a')": "contains(name,'a')",
    "sort on name (no filter)": None,
}


def load(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    rng, start = random.Random(7), datetime(2026, 1, 1, tzinfo=UTC)
    services, tags = [], []
    for i in range(ROWS):
        service_id = f"urn:bench:service:{uuid.UUID(int=rng.getrandbits(128))}"
        created = start + timedelta(seconds=i)
        services.append({"id": service_id, "owner": "bench", "name": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}",
                         "description": "benchmark service", "provider_id": f"urn:bench:provider:{i % 100}",
                         "account_id": "urn:bench:account", "status": "ready", "parameters": [],
                         "workflow": {"type": "basic", "basic": {"image": "alpine"}}, "references": [],
                         "version": 1, "created_at": created, "updated_at": created})
        tags += [{"service_id": service_id, "position": 0, "tag": rng.choice(WORDS)}]
    with engine.begin() as connection:
        for chunk in range(0, ROWS, 5000):
            connection.execute(sa.insert(Service), services[chunk:chunk + 5000])
            connection.execute(sa.insert(ServiceTag), tags[chunk:chunk + 5000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("ANALYZE"))
    refresh_statistics(engine)  # SQLite's, as the worker keeps them
    engine.dispose()


def median_ms(action, runs: int | None = None) -> float:
    action()  # warm caches and the statement cache
    timings = []
    for _ in range(runs or RUNS):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def core_statement(filter_text, after=None):
    fields = {f.name: f for f in SERVICE_LIST.fields if hasattr(f, "column")}
    terms = parse_orderby(None, fields, SERVICE_LIST.default_order, fields["id"])
    statement = sa.select(Service.__table__)
    if filter_text:
        statement = statement.where(compile_filter(filter_text, SERVICE_LIST.declared))
    if after is not None:
        statement = statement.where(seek_after(terms, after))
    return statement.order_by(*order_clauses(terms)).limit(PAGE + 1), terms


def measure(label: str, url: str) -> list[tuple]:
    app = create_app(Config(database_url=url, secret_key=SECRET, data_dir=Path(tempfile.gettempdir())))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {SharedSecretVerifier(SECRET).issue('bench', 3600)}"}
    engine = app.extensions["database"].engine
    results = []
    for name, filter_text in QUERIES.items():
        first_statement, terms = core_statement(filter_text)
        with engine.connect() as connection:
            matching = connection.scalar(sa.select(sa.func.count()).select_from(
                core_statement(filter_text)[0].limit(None).order_by(None).subquery()))
            page = min(DEEP_PAGE, max(1, matching // PAGE))
            anchor = connection.execute(core_statement(filter_text)[0].limit(1).offset((page - 1) * PAGE - 1)
                                        ).mappings().first() if page > 1 else None
        after = [anchor[t.field.column.key] for t in terms] if anchor else None
        options = {"$top": PAGE, **({"$filter": filter_text} if filter_text else {})}
        deep_options = {**options, "pageToken": make_token(SECRET, filter_text, terms, after)} if after else options

        def api(query, page):
            response = client.get("/1/services", query_string=query, headers=headers)
            assert response.status_code == 200, response.get_json()
            assert len(response.get_json()["services"]) == PAGE or page == 1

        def core(statement):
            with engine.connect() as connection:
                connection.execute(statement).all()

        deep_statement = core_statement(filter_text, after)[0]
        if engine.dialect.name == "postgresql":
            explain(engine, deep_statement, name)
        row = (label, name, matching, page, median_ms(partial(api, options, page)),
               median_ms(partial(api, deep_options, page)),
               median_ms(partial(core, first_statement)), median_ms(partial(core, deep_statement)))
        results.append(row)
        print_row(row)
    app.extensions["database"].dispose()
    return results


def explain(engine, statement, name: str) -> None:
    """The plan PostgreSQL picks for the deep page: which index serves the filter and the order."""
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        plan = [line for (line,) in connection.execute(sa.text(f"EXPLAIN {compiled}"))]
    scans = [line.strip().lstrip("-> ") for line in plan if "Scan" in line or "Index Cond" in line]
    print(f"  EXPLAIN {name}: " + " | ".join(scans), flush=True)


def print_row(row) -> None:
    label, name, matching, page, api1, api_deep, sql1, sql_deep = row
    print(f"{label:10} {name:28} {matching:>7} rows  page {page:>4} | "
          f"API p1 {api1:7.2f} ms  p{page} {api_deep:7.2f} ms "
          f"(deep/p1 {api_deep / api1:4.2f}x) | SQL p1 {sql1:6.2f} ms  p{page} {sql_deep:6.2f} ms | "
          f"API/SQL p1 {api1 / sql1:4.2f}x  p{page} {api_deep / sql_deep:4.2f}x", flush=True)


@contextlib.contextmanager
def postgres_database():
    """The URL of a new, empty PostgreSQL database, dropped afterwards; None if no server answers."""
    try:
        with temporary_postgres_database("marketplace_bench") as url:
            yield url
    except NoPostgres as error:
        print(f"PostgreSQL skipped: {error}")
        yield None


def main() -> int:
    print(f"{ROWS} services, {PAGE}-row pages, median of {RUNS} runs")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        started = time.perf_counter()
        load(url)
        print(f"SQLite loaded in {time.perf_counter() - started:.1f} s")
        measure("SQLite", url)
    with postgres_database() as url:
        if url is not None:
            started = time.perf_counter()
            load(url)
            print(f"PostgreSQL loaded in {time.perf_counter() - started:.1f} s")
            measure("PostgreSQL", url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
