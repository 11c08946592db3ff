"""Conditional reads of an order: an ETag per caller (its consumer sees its data, the service's
provider does not), If-None-Match answered 304 without a body, a new tag after every change of
what the order's JSON shows (the worker's too), and never a 304 for a caller who may not see it."""
from __future__ import annotations

import pytest

from app.db import utcnow
from app.orders.models import Order
from tests.conftest import TEST_SECRET, ApiClient


def place(client, service_id, **fields):
    response = client.post("/1/orders", json={"service-id": service_id, "parameters": [{"name": "scene",
                                                                                       "value": "S2A"}], **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def read(client, order_id, if_none_match=None):
    headers = {"If-None-Match": if_none_match} if if_none_match is not None else {}
    return client.get(f"/1/orders/{order_id}", headers=headers)


def etag(client, order_id):
    response = read(client, order_id)
    assert response.status_code == 200
    return response.headers["ETag"]


@pytest.fixture
def order(ready_service, bob):
    return place(bob, ready_service()["id"], tags=["field-7"])


def test_an_order_has_an_etag_and_the_same_one_again_is_304_without_a_body(bob, order):
    response = read(bob, order["id"])
    assert response.status_code == 200
    assert response.get_json() == order
    tag = response.headers["ETag"]
    again = read(bob, order["id"], tag)
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == tag
    for header in (f"W/{tag}", f'"other", {tag}', "*"):
        assert read(bob, order["id"], header).status_code == 304


@pytest.mark.parametrize("header", ['"not-the-tag"', "garbage", '"unbalanced', "W/", ",,", '"x" "y"', "x" * 4000])
def test_a_tag_that_does_not_match_or_a_malformed_header_is_an_ordinary_200(bob, order, header):
    response = read(bob, order["id"], header)
    assert response.status_code == 200
    assert response.get_json() == order


def test_the_consumer_and_the_provider_get_different_tags(alice, bob, order):
    consumer, provider = etag(bob, order["id"]), etag(alice, order["id"])
    assert consumer != provider
    # Either tag answers 304 only to its own caller: the provider's JSON has no products or callback.
    assert read(alice, order["id"], consumer).status_code == 200
    assert read(bob, order["id"], provider).status_code == 200
    assert read(alice, order["id"], provider).status_code == 304


def test_another_account_gets_404_whatever_it_sends_never_a_304(as_account, bob, order):
    tag = etag(bob, order["id"])
    carol = as_account("carol")
    for header in (tag, "*", f"W/{tag}", None):
        response = read(carol, order["id"], header)
        assert response.status_code == 404
        assert response.get_json()["message"] == "no order has this id"
        assert "ETag" not in response.headers
    assert read(bob, "urn:marketplace:order:none", "*").status_code == 404


def test_a_cancel_gives_a_new_tag(bob, order):
    tag = etag(bob, order["id"])
    assert bob.post(f"/1/orders/{order['id']}/cancel").status_code == 202
    response = read(bob, order["id"], tag)
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert response.headers["ETag"] != tag


def test_the_workers_changes_give_a_new_tag(app, worker, alice, bob, order):
    tags = {etag(bob, order["id"])}
    provider_tag = etag(alice, order["id"])
    worker.run_once()  # submits it: pending -> scheduled (and on, as the command runs or fails)
    response = read(bob, order["id"], next(iter(tags)))
    assert response.status_code == 200
    assert response.get_json()["status"] != "pending"
    assert response.headers["ETag"] not in tags
    assert read(alice, order["id"], provider_tag).status_code == 200


def test_a_stored_change_of_any_shown_column_gives_a_new_tag(app, bob, order):
    """Whoever writes the row (the worker's steps, a future endpoint): tasks, timestamps, messages."""
    database = app.extensions["database"]
    changes = [("tasks", [{"name": "main", "phase": "executing"}]), ("status_message", "waiting for a node"),
               ("started_at", utcnow())]
    for attribute, value in changes:
        tag = etag(bob, order["id"])
        session = database.sessions()
        with session.begin():
            setattr(session.get(Order, order["id"]), attribute, value)
        session.close()
        assert read(bob, order["id"], tag).status_code == 200, attribute


def test_a_write_that_changes_nothing_keeps_the_tag(app, bob, order):
    tag = etag(bob, order["id"])
    session = app.extensions["database"].sessions()
    with session.begin():
        stored = session.get(Order, order["id"])
        stored.status = stored.status
    session.close()
    assert read(bob, order["id"], tag).status_code == 304


def test_a_new_product_gives_the_consumer_a_new_tag(app, alice, bob, order):
    from app.workload_tokens import issue_workload_token

    tag, provider_tag = etag(bob, order["id"]), etag(alice, order["id"])
    collector = ApiClient(app.test_client(), issue_workload_token(TEST_SECRET, order["id"], 600))
    uploaded = collector.post(f"/1/orders/{order['id']}/products", query_string={"name": "out/a.txt"}, data=b"1\n",
                              headers={"Content-Type": "text/plain"})
    assert uploaded.status_code == 201, uploaded.get_json()
    response = read(bob, order["id"], tag)
    assert response.status_code == 200
    assert [p["name"] for p in response.get_json()["products"]] == ["out/a.txt"]
    assert read(bob, order["id"], response.headers["ETag"]).status_code == 304
    # The same upload again (a retried collector) changes nothing the order shows.
    new_tag = response.headers["ETag"]
    collector.post(f"/1/orders/{order['id']}/products", query_string={"name": "out/a.txt"}, data=b"1\n")
    assert read(bob, order["id"], new_tag).status_code in (200, 304)
    assert read(alice, order["id"], provider_tag).status_code in (200, 304)  # bumped or not, never wrong


def test_a_products_expiry_gives_its_order_a_new_tag(app, bob, order):
    from app.artifacts.models import Artifact
    from app.workload_tokens import issue_workload_token

    collector = ApiClient(app.test_client(), issue_workload_token(TEST_SECRET, order["id"], 600))
    product = collector.post(f"/1/orders/{order['id']}/products", query_string={"name": "a"}, data=b"1").get_json()
    tag = etag(bob, order["id"])
    session = app.extensions["database"].sessions()
    with session.begin():
        session.get(Artifact, product["id"]).status = "expired"
    session.close()
    response = read(bob, order["id"], tag)
    assert response.status_code == 200
    assert response.get_json()["products"][0]["status"] == "expired"


def test_revisions_are_bumped_in_sql_so_two_writers_from_one_revision_give_two(app, order):
    database = app.extensions["database"]
    first, second = database.sessions(), database.sessions()
    a, b = first.get(Order, order["id"]), second.get(Order, order["id"])
    assert a.revision == b.revision == 1
    a.status_message = "one"
    first.commit()
    b.name = "two"
    second.commit()
    first.close(), second.close()
    check = database.sessions()
    assert check.get(Order, order["id"]).revision == 3
    check.close()
