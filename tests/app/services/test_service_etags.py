"""Conditional reads of a service: an ETag on GET, If-None-Match answered 304 without a body, and a
new tag after anything the service's JSON shows has changed (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from tests.factories import service_description


def publish(client, **overrides):
    response = client.post("/1/services", json=service_description(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def read(client, service_id, if_none_match=None):
    headers = {"If-None-Match": if_none_match} if if_none_match is not None else {}
    return client.get(f"/1/services/{service_id}", headers=headers)


def etag(client, service_id):
    response = read(client, service_id)
    assert response.status_code == 200
    return response.headers["ETag"]


def test_a_service_has_a_strong_etag_and_the_same_one_again_is_304_without_a_body(alice):
    service = publish(alice)
    response = read(alice, service["id"])
    assert response.status_code == 200
    assert response.get_json() == service | {"updated-at": response.get_json()["updated-at"]}
    tag = response.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 2
    assert etag(alice, service["id"]) == tag  # nothing changed, the same tag

    again = read(alice, service["id"], tag)
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == tag


@pytest.mark.parametrize("header", ["{tag}", "W/{tag}", '"other", {tag}', '"a",W/"b" , {tag}', "*"])
def test_if_none_match_takes_weak_tags_lists_and_a_star(alice, header):
    service = publish(alice)
    tag = etag(alice, service["id"])
    response = read(alice, service["id"], header.format(tag=tag))
    assert response.status_code == 304
    assert response.headers["ETag"] == tag


@pytest.mark.parametrize("header", ['"not-the-tag"', "garbage", '"unbalanced', "W/", ",,,", '""', "\"x\" \"y\"",
                                    "*, garbage" + "x" * 4000, "W/\"" + "é" * 100 + "\""])
def test_a_tag_that_does_not_match_or_a_malformed_header_is_an_ordinary_200(alice, header):
    service = publish(alice)
    response = read(alice, service["id"], header)
    assert response.status_code in (200, 304)
    if not header.startswith("*"):
        assert response.status_code == 200
        assert response.get_json()["id"] == service["id"]
        assert response.headers["ETag"] == etag(alice, service["id"])


def test_an_unknown_service_is_404_whatever_if_none_match_says(alice):
    for header in ("*", '"anything"'):
        response = read(alice, "urn:acme:service:none", header)
        assert response.status_code == 404
        assert response.get_json()["message"] == "no service has this id"
    assert read(alice, "x" * 300, "*").status_code == 404


def test_every_caller_sees_the_same_json_and_so_the_same_tag(alice, bob):
    service = publish(alice)
    tag = etag(alice, service["id"])
    assert etag(bob, service["id"]) == tag
    assert read(bob, service["id"], tag).status_code == 304


def test_an_update_gives_a_new_tag_and_the_old_one_reads_the_new_json(alice):
    service = publish(alice)
    tag = etag(alice, service["id"])
    assert alice.put(f"/1/services/{service['id']}", json=service_description(tags=["other"])).status_code == 200
    response = read(alice, service["id"], tag)
    assert response.status_code == 200
    assert response.get_json()["tags"] == ["other"]
    assert response.headers["ETag"] != tag
    assert read(alice, service["id"], response.headers["ETag"]).status_code == 304


@pytest.mark.parametrize("change", [{"metadata": [{"name": "domain", "value": "forestry"}]},
                                    {"tags": ["ag", "ndvi", "more"]}, {"name": "NDVI 2"}, {}])
def test_any_update_even_one_that_changes_little_gives_a_new_tag(alice, change):
    service = publish(alice)
    tag = etag(alice, service["id"])
    assert alice.put(f"/1/services/{service['id']}", json=service_description(**change)).status_code == 200
    assert read(alice, service["id"], tag).status_code == 200  # updated-at moved at least


def test_the_workers_status_change_gives_a_new_tag(alice, worker):
    service = publish(alice)
    tag = etag(alice, service["id"])
    worker.run_once()  # builds it: pending -> ready
    response = read(alice, service["id"], tag)
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"
    assert response.headers["ETag"] != tag


def test_an_id_deleted_and_published_again_has_another_tag(alice):
    service = publish(alice)
    tag = etag(alice, service["id"])
    assert alice.delete(f"/1/services/{service['id']}").status_code == 204
    assert read(alice, service["id"], tag).status_code == 404
    response = alice.put(f"/1/services/{service['id']}", json=service_description(),
                         query_string={"force-create": "true"})
    assert response.status_code == 201
    # The same description and a revision that started again: still not the earlier tag.
    assert read(alice, service["id"], tag).status_code == 200


def test_the_tag_depends_on_the_url_root_the_links_start_with(app, alice):
    service = publish(alice)
    tag = etag(alice, service["id"])
    other_host = alice.get(f"/1/services/{service['id']}", headers={"Host": "api.example.org"})
    assert other_host.get_json()["links"]["self"].startswith("http://api.example.org/")
    assert other_host.headers["ETag"] != tag


def test_a_conditional_read_of_a_service_takes_one_query(app, alice):
    import sqlalchemy as sa

    service = publish(alice)
    tag = etag(alice, service["id"])
    statements = []
    engine = app.extensions["database"].engine

    def listener(_conn, _cursor, statement, *_args):
        statements.append(statement)
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        assert read(alice, service["id"], tag).status_code == 304
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "services" in s]
    assert len(reads) == 1, statements
