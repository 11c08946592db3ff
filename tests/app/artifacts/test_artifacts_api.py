"""The artifacts resource as a user meets it: upload, read, list, download (whole and in ranges),
delete; the size limit and the account's quota; and another account seeing none of it."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import socket
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.serving import wait_until
from tests.storage_server import leftovers

CSV = b"field,ndvi\n12,0.41\n13,0.38\n"


def upload(client, content=CSV, mime_type="text/csv", name="fields.csv", chunked=False):
    headers = {"Content-Type": mime_type, **({"X-Name": name} if name else {})}
    if chunked:  # no Content-Length: the size is known only as the body streams in
        return client.post("/1/artifacts", input_stream=io.BytesIO(content),
                           headers={**headers, "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})  # as real servers say
    return client.post("/1/artifacts", data=content, headers=headers)


def test_an_upload_is_answered_with_its_record_and_location(alice):
    response = upload(alice)
    assert response.status_code == 201, response.get_json()
    artifact = response.get_json()
    assert artifact["id"].startswith("urn:marketplace:artifact:")
    assert response.headers["Location"].endswith(artifact["links"]["self"].split("localhost", 1)[1])
    assert {k: artifact[k] for k in ("name", "mime-type", "size", "sha256", "status")} == {
        "name": "fields.csv", "mime-type": "text/csv", "size": len(CSV),
        "sha256": hashlib.sha256(CSV).hexdigest(), "status": "ready"}
    assert alice.get(artifact["links"]["self"]).get_json() == artifact


def test_the_name_may_come_from_the_query_and_content_of_any_type_is_kept(alice):
    body = b'{"not": "parsed"}'
    artifact = alice.post("/1/artifacts?name=raw.json", data=body,
                          headers={"Content-Type": "application/json"}).get_json()
    assert (artifact["name"], artifact["mime-type"], artifact["size"]) == ("raw.json", "application/json", len(body))
    assert alice.get(artifact["links"]["data"]).data == body


@pytest.mark.parametrize("chunked", [False, True])
def test_an_upload_larger_than_the_request_body_limit_is_still_taken(alice, app, chunked):
    content = bytes(range(256)) * (app.config["MARKETPLACE"].requests.body_bytes // 256 + 10)
    artifact = upload(alice, content, "application/octet-stream", chunked=chunked).get_json()
    assert artifact["size"] == len(content)
    assert alice.get(artifact["links"]["data"]).data == content


def test_download_whole_and_in_ranges_with_the_hash_as_etag(alice):
    artifact = upload(alice).get_json()
    whole = alice.get(artifact["links"]["data"])
    assert whole.status_code == 200 and whole.data == CSV
    assert whole.headers["ETag"] == f'"{artifact["sha256"]}"'
    assert whole.headers["Content-Type"].startswith("text/csv")
    assert "fields.csv" in whole.headers["Content-Disposition"]

    part = alice.get(artifact["links"]["data"], headers={"Range": "bytes=6-9"})
    assert (part.status_code, part.data, part.headers["Content-Range"]) == (206, CSV[6:10], f"bytes 6-9/{len(CSV)}")
    tail = alice.get(artifact["links"]["data"], headers={"Range": "bytes=-5"})
    assert (tail.status_code, tail.data) == (206, CSV[-5:])
    outside = alice.get(artifact["links"]["data"], headers={"Range": f"bytes={len(CSV) + 10}-"})
    assert (outside.status_code, outside.headers["Content-Range"]) == (416, f"bytes */{len(CSV)}")
    stale = alice.get(artifact["links"]["data"], headers={"Range": "bytes=0-1", "If-Range": '"other"'})
    assert (stale.status_code, stale.data) == (200, CSV)
    cached = alice.get(artifact["links"]["data"], headers={"If-None-Match": whole.headers["ETag"]})
    assert cached.status_code == 304


def test_over_http_a_whole_local_file_is_sent_by_the_kernel_and_a_range_as_asked(alice, app, api_url, monkeypatch):
    content = bytes(range(256)) * (3 * 4096 + 7)
    artifact = upload(alice, content, "application/octet-stream").get_json()
    sent = []
    real_sendfile = socket.socket.sendfile
    monkeypatch.setattr(socket.socket, "sendfile", lambda *args, **kwargs: sent.append(real_sendfile(*args, **kwargs)))
    token = alice.headers["Authorization"]

    def fetch(**headers):
        request = urllib.request.Request(api_url + urlsplit(artifact["links"]["data"]).path,
                                         headers={"Authorization": token, **headers})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()

    assert fetch() == (200, content)
    if app.config["MARKETPLACE"].artifacts.s3 is None:  # (the server's thread notes it once the client has all)
        wait_until(lambda: sent, 10, "the server's sendfile returning")
    assert fetch(Range="bytes=5000-9999") == (206, content[5000:10000])
    assert sent == ([len(content)] if app.config["MARKETPLACE"].artifacts.s3 is None else [])  # the whole file, once


def test_list_with_filter_order_and_select(alice):
    for name, content in (("b.csv", b"1"), ("a.csv", b"22"), ("c.txt", b"333")):
        upload(alice, content, "text/csv" if name.endswith("csv") else "text/plain", name)
    page = alice.get("/1/artifacts", query_string={"$filter": "mime-type eq 'text/csv'", "$orderby": "name",
                                                    "$select": "name,size"}).get_json()
    assert [(a["name"], a["size"]) for a in page["artifacts"]] == [("a.csv", 2), ("b.csv", 1)]
    assert set(page["artifacts"][0]) == {"id", "links", "name", "size"}
    assert set(page["links"]) == {"self", "first"}
    first = alice.get("/1/artifacts", query_string={"$top": 2, "$orderby": "size desc"}).get_json()
    assert [a["size"] for a in first["artifacts"]] == [3, 2]
    assert [a["size"] for a in alice.get(first["links"]["next"]).get_json()["artifacts"]] == [1]


def test_delete_removes_record_and_content(alice, app):
    artifact = upload(alice).get_json()
    store = app.extensions["artifact_store"]
    assert len(leftovers(store)) == 1
    assert alice.delete(artifact["links"]["self"]).status_code == 204
    assert alice.get(artifact["links"]["self"]).status_code == 404
    assert leftovers(store) == []
    assert alice.delete(artifact["links"]["self"]).status_code == 404


@pytest.fixture
def small_limits(app):
    """An artifact may be 100 bytes; an account may hold 250."""
    config = app.config["MARKETPLACE"]
    limited = dataclasses.replace(config, artifacts=dataclasses.replace(
        config.artifacts, max_bytes=100, account_quota_bytes=250))
    app.config["MARKETPLACE"] = limited
    return limited


def test_too_large_an_upload_is_a_413_and_leaves_nothing(alice, app, small_limits, stored):
    before = stored()
    for chunked in (False, True):
        response = upload(alice, b"x" * 101, chunked=chunked)
        assert response.status_code == 413, response.get_json()
        assert "at most 100 bytes" in response.get_json()["message"]
    assert stored() == before
    assert leftovers(app.extensions["artifact_store"]) == []


def test_a_full_quota_is_a_422_that_says_so_and_leaves_nothing(alice, bob, app, small_limits, stored):
    assert upload(alice, b"x" * 100).status_code == 201
    assert upload(alice, b"x" * 100).status_code == 201
    before, files = stored(), leftovers(app.extensions["artifact_store"])
    response = upload(alice, b"x" * 60)
    assert response.status_code == 422
    assert "quota" in response.get_json()["message"] and "50 bytes are left" in response.get_json()["message"]
    assert (stored(), leftovers(app.extensions["artifact_store"])) == (before, files)
    assert upload(bob, b"x" * 60).status_code == 201  # a quota is per account


def test_another_account_sees_nothing_of_an_artifact(alice, bob):
    artifact = upload(alice).get_json()
    for path in (artifact["links"]["self"], artifact["links"]["data"]):
        response = bob.get(path)
        assert response.status_code == 404 and response.get_json()["id"] == artifact["id"]
    assert bob.delete(artifact["links"]["self"]).status_code == 404
    assert bob.get("/1/artifacts").get_json()["artifacts"] == []
    assert alice.get(artifact["links"]["data"]).data == CSV


@pytest.mark.parametrize("headers, name", [({"X-Name": "a\x01b"}, "X-Name"),
                                           ({"Content-Type": "nonsense"}, "Content-Type")])
def test_bad_names_and_types_are_422s_naming_them(alice, headers, name):
    response = alice.post("/1/artifacts", data=b"1", headers=headers)
    assert response.status_code == 422 and response.get_json()["name"] == name


def test_on_s3_a_download_redirects_to_a_short_lived_presigned_url(as_account, app, s3_settings):
    from app.artifacts.s3 import S3Store

    app.extensions["artifact_store"] = S3Store(s3_settings)  # presigned downloads: the default
    alice = as_account("alice")
    artifact = upload(alice).get_json()
    response = alice.get(artifact["links"]["data"])
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
    assert "X-Amz-Expires=300" in response.headers["Location"]
    with urllib.request.urlopen(response.headers["Location"], timeout=30) as remote:
        assert remote.read() == CSV
        assert "fields.csv" in remote.headers["Content-Disposition"]
