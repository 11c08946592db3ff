"""Conditional reads of an artifact's record: an ETag, If-None-Match answered 304 without a body, a
new tag when a resumable upload completes or the content expires, 404 for anybody else."""
from __future__ import annotations

from app.artifacts.models import Artifact
from tests.app.artifacts.test_uploads import PIECE, begin, upload_path


def read(client, artifact_id, if_none_match=None):
    headers = {"If-None-Match": if_none_match} if if_none_match is not None else {}
    return client.get(f"/1/artifacts/{artifact_id}", headers=headers)


def uploaded(client):
    response = client.post("/1/artifacts", data=b"a,b\n1,2\n", headers={"Content-Type": "text/csv", "X-Name": "t.csv"})
    assert response.status_code == 201
    return response.get_json()


def test_an_artifact_has_an_etag_and_the_same_one_again_is_304(alice):
    artifact = uploaded(alice)
    response = read(alice, artifact["id"])
    assert response.status_code == 200 and response.get_json() == artifact
    tag = response.headers["ETag"]
    for header in (tag, f"W/{tag}", f'"x", {tag}', "*"):
        again = read(alice, artifact["id"], header)
        assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", tag)
    assert read(alice, artifact["id"], "garbage").status_code == 200


def test_another_account_gets_404_never_a_304(alice, bob):
    artifact = uploaded(alice)
    tag = read(alice, artifact["id"]).headers["ETag"]
    for header in (tag, "*"):
        response = read(bob, artifact["id"], header)
        assert response.status_code == 404 and "ETag" not in response.headers
    assert alice.delete(f"/1/artifacts/{artifact['id']}").status_code == 204
    assert read(alice, artifact["id"], tag).status_code == 404


def test_a_resumable_upload_that_completes_gives_a_new_tag(alice):
    path = upload_path(begin(alice, 10))
    artifact_id = path.rsplit("/", 1)[1]
    uploading = read(alice, artifact_id)
    assert uploading.get_json()["status"] == "uploading"
    tag = uploading.headers["ETag"]
    assert alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "0"}, data=b"0123456789").status_code == 204
    response = read(alice, artifact_id, tag)
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"
    assert read(alice, artifact_id, response.headers["ETag"]).status_code == 304


def test_expiry_gives_a_new_tag(app, alice):
    artifact = uploaded(alice)
    tag = read(alice, artifact["id"]).headers["ETag"]
    session = app.extensions["database"].sessions()
    with session.begin():
        session.get(Artifact, artifact["id"]).status = "expired"
    session.close()
    response = read(alice, artifact["id"], tag)
    assert response.status_code == 200 and response.get_json()["status"] == "expired"
