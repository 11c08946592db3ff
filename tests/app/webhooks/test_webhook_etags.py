"""Conditional reads of a webhook: an ETag, If-None-Match answered 304 without a body, 404 for
another account and after a delete."""
from __future__ import annotations

PUBLIC = "https://93.184.215.14/hooks"


def read(client, webhook_id, if_none_match=None):
    headers = {"If-None-Match": if_none_match} if if_none_match is not None else {}
    return client.get(f"/1/webhooks/{webhook_id}", headers=headers)


def test_a_webhook_has_an_etag_answered_304_to_its_account_alone(alice, bob):
    created = bob.post("/1/webhooks", json={"url": PUBLIC})
    assert created.status_code == 201
    webhook = created.get_json()
    response = read(bob, webhook["id"])
    assert response.status_code == 200 and response.get_json() == webhook
    tag = response.headers["ETag"]
    for header in (tag, f"W/{tag}", "*"):
        again = read(bob, webhook["id"], header)
        assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", tag)
    assert read(bob, webhook["id"], '"other"').status_code == 200
    for header in (tag, "*"):
        assert read(alice, webhook["id"], header).status_code == 404
    assert bob.delete(f"/1/webhooks/{webhook['id']}").status_code == 204
    assert read(bob, webhook["id"], tag).status_code == 404
    assert read(bob, "x" * 400, "*").status_code == 404
