"""An order's logs page like every list: limit and offset, a time window, and links first/next/self."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app.orders.models import OrderLogLine

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def order_with_logs(app, ready_service, bob):
    """Bob's order with five log lines, one a minute from START."""
    order = bob.post("/1/orders", json={"service-id": ready_service()["id"],
                                        "parameters": [{"name": "scene", "value": "S2A"}]}).get_json()
    session = app.extensions["database"].sessions()
    with session.begin():
        session.add_all(OrderLogLine(order_id=order["id"], seq=seq, time=START + timedelta(minutes=seq),
                                     task="main", message=f"line {seq}") for seq in range(5))
    session.close()
    return order


def query_of(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


def test_logs_page_with_links_that_keep_the_window(order_with_logs, bob):
    url = order_with_logs["links"]["logs"]
    first = bob.get(url, query_string={"limit": 2, "since": "2026-06-01T12:01:00Z"}).get_json()
    assert [line["message"] for line in first["items"]] == ["line 1", "line 2"]
    assert query_of(first["links"]["next"]) == {"limit": ["2"], "since": ["2026-06-01T12:01:00Z"], "offset": ["2"]}
    assert query_of(first["links"]["first"]) == {"limit": ["2"], "since": ["2026-06-01T12:01:00Z"]}
    assert query_of(first["links"]["self"]) == query_of(first["links"]["first"])
    second = bob.get(first["links"]["next"]).get_json()
    assert [line["message"] for line in second["items"]] == ["line 3", "line 4"]
    assert "next" not in second["links"]
    assert query_of(second["links"]["self"])["offset"] == ["2"]


def test_until_is_exclusive_and_the_default_page_holds_every_line(order_with_logs, bob):
    url = order_with_logs["links"]["logs"]
    window = bob.get(url, query_string={"until": "2026-06-01T12:02:00+00:00"}).get_json()
    assert [line["message"] for line in window["items"]] == ["line 0", "line 1"]
    assert len(bob.get(url).get_json()["items"]) == 5


@pytest.mark.parametrize("query, name, message", [
    ({"limit": "0"}, "limit", "limit must be between 1 and 10000"),
    ({"limit": "10001"}, "limit", "limit must be between 1 and 10000"),
    ({"offset": "-1"}, "offset", "offset must be between 0 and 2147483648"),
    ({"since": "yesterday"}, "since", "since must be a date-time with its time zone, e.g. 2026-01-31T12:00:00Z"),
    ({"until": "2026-06-01T12:00:00"}, "until",
     "until must be a date-time with its time zone, e.g. 2026-01-31T12:00:00Z"),
    ({"$filter": "task eq 'main'"}, "$filter", "unknown option $filter; the options are limit, offset, since, until"),
    ({"pageToken": "x"}, "pageToken", "unknown option pageToken; the options are limit, offset, since, until"),
])
def test_bad_log_options_are_400_naming_the_option(order_with_logs, bob, query, name, message):
    response = bob.get(order_with_logs["links"]["logs"], query_string=query)
    assert response.status_code == 400
    assert response.get_json() == {"message": message, "name": name, "value": next(iter(query.values()))}


def test_nobody_reads_the_logs_of_another_accounts_order(order_with_logs, as_account):
    response = as_account("carol").get(order_with_logs["links"]["logs"])
    assert response.status_code == 404 and response.get_json()["id"] == order_with_logs["id"]
