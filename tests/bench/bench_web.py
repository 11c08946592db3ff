"""Benchmark of the web catalogue (issue 16): a page of the catalogue with 10,000 services beside
the matching API list call, in SQLite and PostgreSQL.

The catalogue asks the same list (app.query, the services' ListSpec) for ready services, 24 to a
page, and renders cards with their tags; the API call is GET /1/services with the same $filter and
$top. Both in-process (WSGI test client), median of BENCH_RUNS runs, for the first page, a search,
a tag and a deep page reached by its page token. The goal: the page under 2x the API call.
Run: `make bench-web`.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from app import create_app
from app.auth import SharedSecretVerifier
from app.config import Config
from app.web.views import CATALOGUE_PAGE_SIZE, catalogue_filter
from tests.bench import bench_lists
from tests.bench.bench_lists import SECRET, median_ms, postgres_database

ROWS = int(os.environ.get("BENCH_ROWS", 10_000))
CASES = {  # name: (search words, tags)
    "first page": ("", []),
    "search 'flood'": ("flood", []),
    "tag 'river'": ("", ["river"]),
}


def measure(label: str, url: str) -> list[float]:
    app = create_app(Config(database_url=url, secret_key=SECRET, data_dir=Path(tempfile.gettempdir())))
    api = app.test_client()
    headers = {"Authorization": f"Bearer {SharedSecretVerifier(SECRET).issue('bench', 3600)}"}
    web = app.test_client()
    with web.session_transaction() as session:
        session["account"] = "bench"
    ratios = []

    def get_api(query):
        response = api.get("/1/services", query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response

    def get_page(query):
        response = web.get("/", query_string=query)
        assert response.status_code == 200, response.status_code
        return response

    for name, (search, tags) in CASES.items():
        api_query = {"$filter": catalogue_filter(search, tags, ""), "$top": CATALOGUE_PAGE_SIZE}
        page_query = {"q": search, "tag": tags}
        rows = [(name, api_query, page_query)]
        # The page after ten, by the tokens each side hands out.
        deep_api, deep_page = dict(api_query), dict(page_query)
        for _ in range(10):
            token = re.search(r"pageToken=([^&\"]+)", get_api(deep_api).get_json()["links"].get("next", ""))
            web_next = re.search(r'href="([^"]+)" rel="next"', get_page(deep_page).get_data(as_text=True))
            if not token or not web_next:
                break
            deep_api["pageToken"] = unquote(token.group(1))
            next_query = urlsplit(web_next.group(1).replace("&amp;", "&")).query
            deep_page = {**page_query, "page": parse_qs(next_query)["page"][0]}
        else:
            rows.append((f"{name}, page 11", deep_api, deep_page))
        for row_name, a_query, p_query in rows:
            cards = get_page(p_query).get_data(as_text=True).count('class="card"')
            items = len(get_api(a_query).get_json()["services"])
            assert cards == items, (cards, items)
            api_ms = median_ms(partial(get_api, a_query))
            page_ms = median_ms(partial(get_page, p_query))
            ratios.append(page_ms / api_ms)
            print(f"{label:10} {row_name:26} {items:>3} items | API {api_ms:7.2f} ms | page {page_ms:7.2f} ms | "
                  f"page/API {page_ms / api_ms:4.2f}x", flush=True)
    app.extensions["database"].dispose()
    return ratios


def main() -> int:
    bench_lists.ROWS = ROWS
    print(f"{ROWS} services, {CATALOGUE_PAGE_SIZE} to a page, median of {bench_lists.RUNS} runs")
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        started = time.perf_counter()
        bench_lists.load(url)
        print(f"SQLite loaded in {time.perf_counter() - started:.1f} s")
        ratios += measure("SQLite", url)
    with postgres_database() as url:
        if url is not None:
            bench_lists.load(url)
            ratios += measure("PostgreSQL", url)
    worst = max(ratios)
    print(f"worst page/API: {worst:.2f}x (goal: under 2x)")
    return 0 if worst < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
