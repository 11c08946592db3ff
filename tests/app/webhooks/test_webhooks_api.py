"""The webhooks API with the default settings: callbacks must reach public addresses; an account's
default callbacks and secret are its own; an order's deliveries are its consumer's."""
from __future__ import annotations

import pytest
from standardwebhooks import Webhook

PUBLIC = "https://93.184.215.14/hooks"


def order(client, service_id, **extra):
    return client.post("/1/orders", json={"service-id": service_id, **extra})


@pytest.mark.parametrize("callback", [
    "http://127.0.0.1:8080/hooks", "http://localhost/hooks", "http://[::1]/hooks", "http://169.254.169.254/",
    "http://[fd00:ec2::254]/", "http://10.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
    "https://nowhere.invalid/hooks", "ftp://93.184.215.14/", "https://me:secret@93.184.215.14/",
])
def test_an_order_with_an_inside_or_bad_callback_is_422_naming_it(service, bob, callback):
    response = order(bob, service["id"], callback=callback)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert (body["name"], body["value"]) == ("callback", callback)
    assert body["message"].startswith("callback: ")
    assert bob.get("/1/orders").get_json()["orders"] == []


def test_a_dry_run_checks_the_callback_too(service, bob):
    response = bob.post("/1/orders/dry-run", json={"service-id": service["id"], "callback": "http://127.0.0.1/"})
    assert response.status_code == 422 and response.get_json()["name"] == "callback"


def test_a_callback_longer_than_its_bound_is_422(service, bob):
    response = order(bob, service["id"], callback="https://93.184.215.14/" + "a" * 2048)
    assert response.status_code == 422 and response.get_json()["name"] == "callback"


def test_the_order_shows_its_callback_to_its_consumer_only(service, alice, bob):
    placed = order(bob, service["id"], callback=PUBLIC)
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["callback"] == PUBLIC
    assert "callback" not in alice.get(placed.headers["Location"]).get_json()  # the service's provider


def test_default_callbacks_are_created_listed_read_and_deleted(bob, alice):
    assert bob.get("/1/webhooks").get_json()["webhooks"] == []
    created = bob.post("/1/webhooks", json={"url": PUBLIC})
    assert created.status_code == 201, created.get_json()
    webhook = created.get_json()
    assert webhook["url"] == PUBLIC and webhook["id"].startswith("urn:marketplace:webhook:")
    assert created.headers["Location"] == webhook["links"]["self"]
    assert bob.get(created.headers["Location"]).get_json() == webhook
    assert bob.get("/1/webhooks").get_json()["webhooks"] == [webhook]
    assert bob.post("/1/webhooks", json={"url": PUBLIC}).status_code == 409
    assert alice.get("/1/webhooks").get_json()["webhooks"] == []
    assert alice.get(created.headers["Location"]).status_code == 404
    assert alice.delete(created.headers["Location"]).status_code == 404
    assert bob.delete(created.headers["Location"]).status_code == 204
    assert bob.get(created.headers["Location"]).status_code == 404


def test_a_default_callback_is_checked_like_an_order_callback(bob):
    response = bob.post("/1/webhooks", json={"url": "http://169.254.169.254/latest/meta-data/"})
    assert response.status_code == 422
    assert (response.get_json()["name"], response.get_json()["value"]) == (
        "url", "http://169.254.169.254/latest/meta-data/")
    assert bob.post("/1/webhooks", json={"url": PUBLIC, "secret": "x"}).status_code == 422
    assert bob.post("/1/webhooks", json={}).status_code == 422


def test_an_account_has_a_bounded_number_of_default_callbacks(app, bob):
    limit = app.config["MARKETPLACE"].webhooks.endpoints_per_account
    for number in range(limit):
        assert bob.post("/1/webhooks", json={"url": f"{PUBLIC}/{number}"}).status_code == 201
    response = bob.post("/1/webhooks", json={"url": f"{PUBLIC}/more"})
    assert response.status_code == 409 and "at most" in response.get_json()["message"]


def test_the_secret_is_made_on_first_need_and_is_the_accounts_own(bob, alice):
    first = bob.get("/1/webhooks/secret")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    secret = first.get_json()["secret"]
    assert secret.startswith("whsec_")
    Webhook(secret)  # the standardwebhooks form
    assert bob.get("/1/webhooks/secret").get_json()["secret"] == secret
    assert alice.get("/1/webhooks/secret").get_json()["secret"] != secret


def test_rotating_the_secret_replaces_it_and_keeps_the_old_one_signing_for_a_while(bob):
    before = bob.get("/1/webhooks/secret").get_json()["secret"]
    rotated = bob.post("/1/webhooks/secret/rotate")
    assert rotated.status_code == 200 and rotated.headers["Cache-Control"] == "no-store"
    after = rotated.get_json()
    assert after["secret"] != before and after["previous-valid-until"]
    assert bob.get("/1/webhooks/secret").get_json()["secret"] == after["secret"]


def test_the_secret_is_not_kept_in_the_clear(app, bob):
    from app.webhooks.models import WebhookSecret

    secret = bob.get("/1/webhooks/secret").get_json()["secret"]
    session = app.extensions["database"].sessions()
    stored = session.get(WebhookSecret, "bob").secret
    session.close()
    assert secret not in stored and secret.removeprefix("whsec_") not in stored


def test_deliveries_are_written_with_the_status_change_and_seen_by_the_consumer_alone(service, alice, bob, as_account):
    bob.post("/1/webhooks", json={"url": f"{PUBLIC}/default"})
    placed = order(bob, service["id"], callback=PUBLIC).get_json()
    path = f"{placed['links']['self']}/deliveries"
    deliveries = bob.get(path).get_json()["deliveries"]
    assert sorted((d["type"], d["url"], d["status"]) for d in deliveries) == [
        ("order.pending", PUBLIC, "pending"), ("order.pending", f"{PUBLIC}/default", "pending")]
    assert all(d["attempts"] == [] and d["id"].startswith("msg_") for d in deliveries)
    assert bob.post(f"{placed['links']['self']}/cancel").status_code == 202
    types = [d["type"] for d in bob.get(path, query_string={"$orderby": "created-at"}).get_json()["deliveries"]]
    assert sorted(types) == ["order.cancelled", "order.cancelled", "order.pending", "order.pending"]
    failed = bob.get(path, query_string={"$filter": "type eq 'order.cancelled'", "$select": "url"}).get_json()
    assert {d["url"] for d in failed["deliveries"]} == {PUBLIC, f"{PUBLIC}/default"}
    assert alice.get(path).status_code == 404  # the service's provider sees the order, not its deliveries
    assert as_account("carol").get(path).status_code == 404
    assert bob.get("/1/orders/urn:marketplace:order:nope/deliveries").status_code == 404


def test_an_order_without_callbacks_has_no_deliveries(service, bob):
    placed = order(bob, service["id"]).get_json()
    assert bob.get(f"{placed['links']['self']}/deliveries").get_json()["deliveries"] == []
