"""Benchmark of the API's fast paths (issue 15): this app beside a bare flask-smorest app with one
schema (tests/bench/reference_app.py), both under gunicorn with the same settings (2 processes,
the marketplace's threads), loaded in alternation with the same tool (`wrk`, Debian's package:
`apt-get install -y wrk`). Prints each path's requests per second and its ratio to the reference
measured in the same round (the median over rounds); beside a conditional GET and the POST, the
floor's ratio too (tests/bench/floor_app.py: the reference plus the same SQL on the raw driver,
what the stack allows the path). Orders are placed for many accounts at once, each within the
default limit of active orders, as a marketplace's consumers place them. Then list pages at depth
(tests/bench/list_depths.py) and order start-up on the embedded default (tests/bench/order_start.py).

PostgreSQL when a server answers (MARKETPLACE_TEST_POSTGRES_URL), else SQLite. Run: `make bench-api`.
BENCH_SECONDS (per wrk run), BENCH_ROUNDS, BENCH_ORDERS_STORED (orders in the list's table),
BENCH_PARTS (comma list of paths, depths, start) and BENCH_PATHS (the paths whose names contain
it, e.g. "POST") change it. Figures are noisy on a shared machine:
read the ratios, which compare runs made a second apart."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from app.auth import SharedSecretVerifier
from app.config import Config
from app.db import make_engine
from app.migrate import upgrade
from app.orders.models import Order
from app.services.models import Service
from tests.bench import list_depths, order_start
from tests.databases import NoPostgres, temporary_postgres_database
from tests.factories import service_description
from tests.serving import ROOT, Api, Process, clean_environment, free_port, token_for, wait_until

SECONDS = int(os.environ.get("BENCH_SECONDS", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
ORDERS_STORED = int(os.environ.get("BENCH_ORDERS_STORED", 100_000))
PARTS = os.environ.get("BENCH_PARTS", "paths,depths,start").split(",")
PATHS = os.environ.get("BENCH_PATHS", "")
WORKERS, THREADS = 2, 4
WRK = ["wrk", "-t2", "-c16", "--latency"]
ORDERING_ACCOUNTS = 1000
PARAMETERS = [{"name": "text", "type": "string"}, {"name": "count", "type": "int"},
              {"name": "ratio", "type": "float"}, {"name": "flag", "type": "bool"},
              {"name": "data", "type": "collection"},
              {"name": "choice", "type": "option", "options": [{"value": "a"}, {"value": "b"}]}]
VALUES = [{"name": "text", "value": "hello"}, {"name": "count", "value": "3"}, {"name": "ratio", "value": "0.5"},
          {"name": "flag", "value": "true"}, {"name": "data", "value": "urn:bench:collection:1"},
          {"name": "choice", "value": "a"}]
REFERENCE_BODY = {"name": "n", "description": "d", "tags": ["a"]}


def lua(method: str, headers: dict[str, str], body: dict | None = None, unique_key: bool = False,
        tokens: Sequence[str] = ()) -> str:
    """A wrk script; with `tokens`, each request is made with the next of them (as its account)."""
    lines = [f'wrk.method = "{method}"']
    # A JSON string is a Lua one too, for the ASCII of header values (an ETag's quotes included).
    lines += [f'wrk.headers["{name}"] = {json.dumps(value)}' for name, value in headers.items()]
    if body is not None:
        lines += [f"wrk.body = [[{json.dumps(body)}]]", 'wrk.headers["Content-Type"] = "application/json"']
    if not (unique_key or tokens):
        return "\n".join(lines) + "\n"
    # wrk threads have a Lua state each: the keys get a random prefix per thread.
    lines += ["math.randomseed(os.time() + math.floor(os.clock() * 1e6))", "local n = 0",
              "local prefix = tostring(math.random(1, 1e9))",
              f"local tokens = {{{', '.join(json.dumps(token) for token in tokens)}}}",
              "request = function()", "  n = n + 1"]
    if unique_key:
        lines += ['  wrk.headers["Idempotency-Key"] = "bench-" .. prefix .. "-" .. n']
    if tokens:
        lines += ['  wrk.headers["Authorization"] = "Bearer " .. tokens[(n + tonumber(prefix)) % #tokens + 1]']
    return "\n".join(lines + ["  return wrk.format()", "end"]) + "\n"


def wrk(url: str, script: str, folder: Path) -> tuple[float, int]:
    """(requests per second, responses that were not 2xx or 3xx)."""
    path = folder / f"{uuid.uuid4().hex}.lua"
    path.write_text(script)
    output = subprocess.run([*WRK, f"-d{SECONDS}s", "-s", str(path), url], capture_output=True, text=True,
                            check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, int(errors.group(1)) if errors else 0


def store_orders(url: str, account: str, service_id: str, count: int) -> None:
    engine = make_engine(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"id": f"urn:marketplace:order:{uuid.uuid4()}", "account": account, "service_id": service_id,
             "service_owner": "provider", "service_version": 1, "status": "succeeded", "parameters": VALUES,
             "workflow": {"type": "basic", "basic": {"image": "alpine"}}, "cancel_requested": False,
             "ordered_at": start + timedelta(seconds=i)} for i in range(count)]
    with engine.begin() as connection:
        for chunk in range(0, count, 5000):
            connection.execute(sa.insert(Order), rows[chunk:chunk + 5000])
    if engine.dialect.name == "postgresql":  # as autovacuum leaves a table: not running under the measurement
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


def paths(url: str, folder: Path) -> None:
    env = clean_environment(folder, DATABASE_URL=url, MARKETPLACE_WEB_WORKERS=str(WORKERS),
                            MARKETPLACE_WEB_THREADS=str(THREADS), MARKETPLACE_LOG_LEVEL="WARNING",
                            MARKETPLACE_MAX_SERVICES_PER_ACCOUNT=str(10 ** 6))
    config = Config.from_env(env)
    threads = config.web.threads + config.events.per_process  # as app.production gives its processes
    engine = make_engine(url)
    upgrade(engine)
    port, reference_port, floor_port = free_port(), free_port(), free_port()
    app = Process(["serve", "--production", "--port", str(port)], env, ROOT, folder / "app.log").start()

    def gunicorn(app_port: int, wsgi_app: str, environment: dict[str, str]) -> Process:
        return Process(["-w", str(WORKERS), "--threads", str(threads), "-k", "gthread", "-b", f"127.0.0.1:{app_port}",
                        wsgi_app], environment, ROOT, folder / f"{app_port}.log", module="gunicorn").start()
    reference, floor = gunicorn(reference_port, "tests.bench.reference_app:app", env), None
    try:
        api = Api(f"http://127.0.0.1:{port}", token_for("bench", env, ROOT))
        wait_until(api.answers, what="the API")
        status, service = api.call("POST", "/1/services", service_description(parameters=PARAMETERS))
        assert status == 201, service
        with engine.begin() as connection:  # no worker runs: the service is made ready here
            connection.execute(sa.update(Service).where(Service.id == service["id"]).values(status="ready"))
        status, order = api.call("POST", "/1/orders", {"service-id": service["id"], "parameters": VALUES})
        assert status == 201, order
        auth = {"Authorization": f"Bearer {api.token}"}
        base, ref, low = api.base, f"http://127.0.0.1:{reference_port}", f"http://127.0.0.1:{floor_port}"
        wait_until(lambda: _answers(f"{ref}/items/1") == "200", what="the reference")
        if engine.dialect.name == "postgresql":  # the floor speaks to PostgreSQL only
            floor = gunicorn(floor_port, "tests.bench.floor_app:app", {
                **env, "FLOOR_DATABASE_URL": engine.url.set(drivername="postgresql").render_as_string(False),
                "FLOOR_SERVICE_ID": service["id"], "FLOOR_ACCOUNT": "bench"})
            wait_until(lambda: _answers(f"{low}/floor/services/{service['id']}") == "304", what="the floor")
        get_reference = (ref + "/items/1", lua("GET", {}))
        post_reference = (ref + "/items", lua("POST", {}, REFERENCE_BODY))
        tokens = [SharedSecretVerifier(config.secret_key).issue(f"bench-{n}", 3600) for n in range(ORDERING_ACCOUNTS)]
        order_body = {"service-id": service["id"], "parameters": VALUES}
        post_floor = (low + "/floor/orders", lua("POST", {}, REFERENCE_BODY)) if floor else None
        cases = []
        for name, path in (("GET /1/services/{id}", f"/1/services/{service['id']}"),
                           ("GET /1/orders/{id}", f"/1/orders/{order['id']}")):
            cases.append(Case(name, base + path, lua("GET", auth), get_reference))
            # The same GET with the ETag it was given: answered 304 (beside the same reference GET).
            conditional = {**auth, "If-None-Match": _etag(base + path, auth)}
            cases.append(Case(f"{name} If-None-Match (304)", base + path, lua("GET", conditional), get_reference,
                              (low + "/floor" + path[2:], lua("GET", {})) if floor else None))
        cases += [
            Case("POST /1/orders", base + "/1/orders", lua("POST", {}, order_body, tokens=tokens), post_reference,
                 post_floor),
            Case("POST /1/orders Idempotency-Key", base + "/1/orders",
                 lua("POST", {}, order_body, unique_key=True, tokens=tokens), post_reference, post_floor),
        ]
        print(f"paths: wrk -t2 -c16 -d{SECONDS}s, gunicorn {WORKERS} processes x {threads} threads each side, "
              f"{engine.dialect.name}, median of {ROUNDS} alternating rounds; orders placed by {ORDERING_ACCOUNTS} "
              "accounts in turn", flush=True)
        for case in cases:
            if PATHS in case.name:
                _compare(case, folder)
        if PATHS not in "GET /1/orders?limit=20":
            return
        store_orders(url, "bench", service["id"], ORDERS_STORED)
        _compare(Case(f"GET /1/orders?limit=20 ({ORDERS_STORED} stored)", base + "/1/orders?limit=20",
                      lua("GET", auth), get_reference), folder)
    finally:
        for process in (app, reference, floor):
            if process is not None:
                process.stop()
        engine.dispose()


def _answers(url: str) -> str:
    """The HTTP status `url` answers a GET with ("000" while nothing listens)."""
    return subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url], capture_output=True,
                          text=True).stdout


def _etag(url: str, headers: dict[str, str]) -> str:
    """The ETag a GET of `url` answers, after checking that sending it back is answered 304."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        etag = response.headers["ETag"]
    try:
        urllib.request.urlopen(urllib.request.Request(url, headers={**headers, "If-None-Match": etag}))
    except urllib.error.HTTPError as answer:
        assert answer.code == 304, answer.code
        return etag
    raise AssertionError(f"{url} with If-None-Match {etag} was not answered 304")


@dataclass(frozen=True)
class Case:
    """A path of this app loaded with `script`, beside the reference's (URL, script) and the floor's."""
    name: str
    url: str
    script: str
    reference: tuple[str, str]
    floor: tuple[str, str] | None = None


def _compare(case: Case, folder: Path) -> None:
    ours, theirs, ratios, floor_ratios, failed = [], [], [], [], 0
    for _ in range(ROUNDS):
        rate, errors = wrk(case.url, case.script, folder)
        reference, _ = wrk(*case.reference, folder)
        ours.append(rate)
        theirs.append(reference)
        ratios.append(rate / reference)
        failed += errors
        if case.floor is not None:
            floor_ratios.append(wrk(*case.floor, folder)[0] / reference)
    note = f"  ({failed} answers not 2xx/3xx!)" if failed else ""
    floor = f"   floor {statistics.median(floor_ratios) * 100:5.1f} %" if floor_ratios else ""
    print(f"  {case.name:44} {statistics.median(ours):8.0f} req/s   reference {statistics.median(theirs):8.0f} req/s"
          f"   ratio {statistics.median(ratios) * 100:5.1f} %{floor}{note}", flush=True)


@contextlib.contextmanager
def database():
    try:
        with temporary_postgres_database("marketplace_bench") as url:
            yield url
    except NoPostgres as error:
        print(f"PostgreSQL skipped ({error}); SQLite instead")
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk")
        return 1
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    if "paths" in PARTS:
        with database() as url, tempfile.TemporaryDirectory() as folder:
            paths(url, Path(folder))
    if "depths" in PARTS:
        list_depths.main()
    if "start" in PARTS:
        order_start.report(order_start.measure())
    return 0


if __name__ == "__main__":
    sys.exit(main())
