"""Resumable uploads (tus) as a client meets them, on each store: tuspy uploading in pieces, an
upload broken off midway and resumed by tuspy from what the server kept, every refusal in the
API's one error shape, termination and stale uploads leaving nothing."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import socket
import urllib.request
from urllib.parse import urlsplit

import pytest
from tusclient.client import TusClient

from app.auth import SharedSecretVerifier
from tests.conftest import TEST_SECRET
from tests.serving import wait_until
from tests.storage_server import MIB, content, leftovers

TUS = {"Tus-Resumable": "1.0.0"}
PIECE = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture
def store(app):
    return app.extensions["artifact_store"]


def tus_client(api_url: str, account: str = "alice") -> TusClient:
    token = SharedSecretVerifier(TEST_SECRET).issue(account, 3600)
    return TusClient(f"{api_url}/1/artifacts/uploads", headers={"Authorization": f"Bearer {token}"})


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def begin(client, length: int, **values: str):
    return client.post("/1/artifacts/uploads", headers={**TUS, "Upload-Length": str(length),
                                                        **({"Upload-Metadata": metadata(**values)} if values else {})})


def upload_path(response) -> str:
    return urlsplit(response.headers["Location"]).path


def artifact_of(client, path: str) -> dict:
    return client.get(path.replace("/uploads/", "/")).get_json()


def downloaded(client, artifact: dict) -> bytes:
    """The content, from the API or from where it redirects (a presigned URL of the store)."""
    response = client.get(artifact["links"]["data"])
    if response.status_code == 302:
        with urllib.request.urlopen(response.headers["Location"], timeout=30) as remote:
            return remote.read()
    assert response.status_code == 200, response.get_json()
    return response.data


def offset_of(client, path: str) -> int:
    response = client.request("HEAD", path, headers=TUS)
    assert response.status_code == 200
    return int(response.headers["Upload-Offset"])


def send_and_drop(api_url: str, path: str, offset: int, piece: bytes, sent: int, account: str = "alice") -> None:
    """A PATCH announcing the whole piece that sends `sent` bytes of it and drops the connection."""
    token = SharedSecretVerifier(TEST_SECRET).issue(account, 3600)
    address = urlsplit(api_url)
    head = (f"PATCH {path} HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(piece)}\r\n\r\n")
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(head.encode() + piece[:sent])


# --- whole uploads with a tus client --------------------------------------------------------------

def test_tuspy_uploads_in_pieces_and_the_artifact_is_ready_with_its_size_and_hash(api_url, alice, store):
    data = content(11 * MIB + 5)
    uploader = tus_client(api_url).uploader(file_stream=io.BytesIO(data), chunk_size=3 * MIB,
                                             metadata={"filename": "field survey.csv", "filetype": "text/csv"})
    uploader.upload()

    artifact = artifact_of(alice, urlsplit(uploader.url).path)
    assert {key: artifact[key] for key in ("name", "mime-type", "size", "sha256", "status")} == {
        "name": "field survey.csv", "mime-type": "text/csv", "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "status": "ready"}
    assert downloaded(alice, artifact) == data
    assert len(leftovers(store)) == 1  # the content, and nothing of the upload


def test_an_upload_broken_off_midway_is_resumed_by_tuspy_from_what_the_server_kept(api_url, alice, store):
    data = content(13 * MIB + 7)
    uploader = tus_client(api_url).uploader(file_stream=io.BytesIO(data), chunk_size=3 * MIB,
                                             metadata={"filename": "scan.tif"})
    uploader.upload(stop_at=3 * MIB)  # tuspy begins the upload and sends a first piece
    path = urlsplit(uploader.url).path
    assert offset_of(alice, path) == 3 * MIB

    # A piece of the rest, cut after 6 MiB more (past the S3 store's 8 MiB parts).
    send_and_drop(api_url, path, 3 * MIB, data[3 * MIB:], 6 * MIB + 11)
    wait_until(lambda: offset_of(alice, path) == 9 * MIB + 11, 30, "the server keeping what arrived")
    assert artifact_of(alice, path)["status"] == "uploading"

    resumed = tus_client(api_url).uploader(file_stream=io.BytesIO(data), url=uploader.url, chunk_size=4 * MIB)
    assert resumed.offset == 9 * MIB + 11  # tuspy asked the server (HEAD) where to go on from
    resumed.upload()

    artifact = artifact_of(alice, path)
    assert (artifact["status"], artifact["size"]) == ("ready", len(data))
    assert artifact["sha256"] == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(downloaded(alice, artifact)).hexdigest() == artifact["sha256"]
    assert len(leftovers(store)) == 1


def test_a_client_resending_a_piece_the_server_has_hears_where_to_go_on(alice):
    path = upload_path(begin(alice, 10))
    assert alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "0"}, data=b"01234").status_code == 204

    again = alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "0"}, data=b"01234")

    assert again.status_code == 409 and again.headers["Upload-Offset"] == "5"
    assert (again.get_json()["name"], again.get_json()["value"]) == ("Upload-Offset", 0)
    last = alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "5"}, data=b"56789")
    assert (last.status_code, last.headers["Upload-Offset"], last.headers["Tus-Resumable"]) == (204, "10", "1.0.0")
    assert artifact_of(alice, path)["sha256"] == hashlib.sha256(b"0123456789").hexdigest()
    # Re-sending the last, empty piece is harmless; more content is not.
    assert alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "10"}).status_code == 204
    after = alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "10"}, data=b"x")
    assert after.status_code == 409 and after.headers["Upload-Offset"] == "10"


def test_an_empty_upload_is_ready_as_soon_as_it_is_begun(alice):
    response = begin(alice, 0, filename="empty.txt")
    assert response.status_code == 201
    artifact = response.get_json()
    assert (artifact["status"], artifact["size"], artifact["sha256"]) == ("ready", 0, hashlib.sha256().hexdigest())
    assert offset_of(alice, upload_path(response)) == 0


# --- an upload in progress ----------------------------------------------------------------------------

def test_an_upload_in_progress_is_listed_not_downloadable_and_counted_at_its_length(alice, app):
    app.config["MARKETPLACE"] = dataclasses.replace(app.config["MARKETPLACE"], artifacts=dataclasses.replace(
        app.config["MARKETPLACE"].artifacts, account_quota_bytes=250))
    response = begin(alice, 200, filename="big.bin", filetype="application/x-netcdf")
    assert response.status_code == 201
    artifact = response.get_json()
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert (artifact["status"], artifact["mime-type"]) == ("uploading", "application/x-netcdf")
    assert "size" not in artifact and "sha256" not in artifact

    listed = alice.get("/1/artifacts").get_json()["artifacts"]
    assert [(a["id"], a["status"]) for a in listed] == [(artifact["id"], "uploading")]
    blob = alice.get(artifact["links"]["data"])
    assert blob.status_code == 409 and blob.get_json()["value"] == "uploading"
    quota = begin(alice, 60)
    assert quota.status_code == 422 and "50 bytes are left" in quota.get_json()["message"]


def test_head_finishes_an_upload_whose_last_piece_was_kept_but_not_recorded(alice, store):
    response = begin(alice, 6)
    artifact = response.get_json()
    store.append(artifact_id_key(artifact["id"]), 0, [b"abcdef"], 6)  # a request that died right after

    assert offset_of(alice, upload_path(response)) == 6
    finished = artifact_of(alice, upload_path(response))
    assert (finished["status"], finished["sha256"]) == ("ready", hashlib.sha256(b"abcdef").hexdigest())


def artifact_id_key(artifact_id: str) -> str:
    from app.artifacts.logic import storage_key

    return storage_key(artifact_id)


# --- refusals, each in the one error shape ------------------------------------------------------------

@pytest.mark.parametrize("headers, status, name", [
    ({"Upload-Length": "5"}, 400, "Tus-Resumable"),
    ({"Tus-Resumable": "0.2.2", "Upload-Length": "5"}, 412, "Tus-Resumable"),
    (TUS, 400, "Upload-Length"),
    ({**TUS, "Upload-Length": "-5"}, 400, "Upload-Length"),
    ({**TUS, "Upload-Length": "1_000"}, 400, "Upload-Length"),
    ({**TUS, "Upload-Length": "9" * 40}, 400, "Upload-Length"),
    ({**TUS, "Upload-Length": "5", "Upload-Metadata": "filename not-base64!"}, 400, "Upload-Metadata"),
    ({**TUS, "Upload-Length": "5", "Upload-Metadata": "filename YQ==,filename Yg=="}, 400, "Upload-Metadata"),
    ({**TUS, "Upload-Length": "5", "Upload-Metadata": metadata(filename="a\x01b")}, 422, "Upload-Metadata.filename"),
    ({**TUS, "Upload-Length": "5", "Upload-Metadata": metadata(filetype="csv")}, 422, "Upload-Metadata.filetype"),
])
def test_a_creation_with_bad_headers_is_refused_naming_the_header(alice, stored, headers, status, name):
    before = stored()
    response = alice.post("/1/artifacts/uploads", headers=headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["name"] == name
    if name == "Tus-Resumable":  # none is a 400, another version a 412; either way, the one spoken here
        assert response.headers["Tus-Version"] == "1.0.0"
    assert stored() == before


def test_a_creation_past_the_size_limit_or_the_quota_is_refused(alice, app, stored):
    app.config["MARKETPLACE"] = dataclasses.replace(app.config["MARKETPLACE"], artifacts=dataclasses.replace(
        app.config["MARKETPLACE"].artifacts, max_bytes=100, account_quota_bytes=150))
    before = stored()
    too_large = begin(alice, 101)
    assert too_large.status_code == 413 and "at most 100 bytes" in too_large.get_json()["message"]
    assert begin(alice, 100).status_code == 201
    over_quota = begin(alice, 60)
    assert over_quota.status_code == 422 and over_quota.get_json()["name"] == "size"
    assert len(stored()["artifacts"]) == len(before["artifacts"]) + 1
    options = alice.request("OPTIONS", "/1/artifacts/uploads")
    assert (options.headers["Tus-Version"], options.headers["Tus-Max-Size"]) == ("1.0.0", "100")
    assert set(options.headers["Tus-Extension"].split(",")) == {"creation", "termination"}


def test_a_creation_carrying_content_is_refused(alice, stored):
    before = stored()
    response = alice.post("/1/artifacts/uploads", headers={**TUS, "Upload-Length": "3"}, data=b"abc")
    assert response.status_code == 400 and "PATCH" in response.get_json()["message"]
    assert stored() == before


def test_bad_pieces_are_refused_and_change_nothing(alice, store):
    path = upload_path(begin(alice, 10))
    alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "0"}, data=b"0123")

    wrong_type = alice.request("PATCH", path, headers={**TUS, "Upload-Offset": "4",
                                                       "Content-Type": "application/octet-stream"}, data=b"4")
    assert wrong_type.status_code == 415 and wrong_type.get_json()["name"] == "Content-Type"
    no_offset = alice.request("PATCH", path, headers=PIECE, data=b"4")
    assert no_offset.status_code == 400 and no_offset.get_json()["name"] == "Upload-Offset"
    too_long = alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "4"}, data=b"4567890")
    assert too_long.status_code == 413 and "10 bytes long" in too_long.get_json()["message"]
    no_tus = alice.request("PATCH", path, headers={"Upload-Offset": "4", "Content-Type": PIECE["Content-Type"]},
                           data=b"4")
    assert no_tus.status_code == 400 and no_tus.get_json()["name"] == "Tus-Resumable"
    old_tus = alice.request("PATCH", path, headers={**PIECE, "Tus-Resumable": "0.2.2", "Upload-Offset": "4"}, data=b"4")
    assert old_tus.status_code == 412 and old_tus.headers["Tus-Version"] == "1.0.0"
    assert offset_of(alice, path) == 4


def test_another_account_finds_no_upload(alice, bob):
    path = upload_path(begin(alice, 10))
    for method in ("HEAD", "PATCH", "DELETE"):
        response = bob.request(method, path, headers={**PIECE, "Upload-Offset": "0"}, data=b"x")
        assert response.status_code == 404, method
    assert offset_of(alice, path) == 0
    assert bob.request("HEAD", "/1/artifacts/uploads/urn:marketplace:artifact:nothing", headers=TUS).status_code == 404


# --- nothing left behind --------------------------------------------------------------------------------

def test_terminating_an_upload_leaves_nothing(alice, store):
    path = upload_path(begin(alice, 12 * MIB))
    alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "0"}, data=content(9 * MIB))
    assert leftovers(store)

    assert alice.request("DELETE", path, headers=TUS).status_code == 204

    assert alice.request("HEAD", path, headers=TUS).status_code == 404
    assert alice.get(path.replace("/uploads/", "/")).status_code == 404
    assert leftovers(store) == []


def test_stale_uploads_are_removed_with_what_they_held(alice, app, store):
    from app.artifacts.resumable import remove_stale_uploads

    path = upload_path(begin(alice, 12 * MIB))
    alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "0"}, data=content(6 * MIB))
    settings = app.config["MARKETPLACE"].artifacts
    session = app.extensions["database"].sessions()
    try:
        assert remove_stale_uploads(session, store, settings) == 0  # touched within the day
        assert remove_stale_uploads(session, store, dataclasses.replace(settings, stale_upload_seconds=0)) == 1
    finally:
        session.close()

    assert alice.request("HEAD", path, headers=TUS).status_code == 404
    assert leftovers(store) == []


def test_beginning_an_upload_removes_the_accounts_stale_ones_and_frees_their_quota(alice, app, store):
    app.config["MARKETPLACE"] = dataclasses.replace(app.config["MARKETPLACE"], artifacts=dataclasses.replace(
        app.config["MARKETPLACE"].artifacts, account_quota_bytes=100, stale_upload_seconds=0))
    abandoned = upload_path(begin(alice, 100))
    alice.request("PATCH", abandoned, headers={**PIECE, "Upload-Offset": "0"}, data=b"x" * 40)

    assert begin(alice, 100).status_code == 201

    assert alice.request("HEAD", abandoned, headers=TUS).status_code == 404
    assert leftovers(store) == []  # the new upload holds nothing yet


def test_a_piece_past_the_end_is_an_offset_mismatch(alice, store):
    """tus: an Upload-Offset other than the upload's is a 409 that tells where to go on from."""
    path = upload_path(begin(alice, 10))
    alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "0"}, data=b"0123")
    past = alice.request("PATCH", path, headers={**PIECE, "Upload-Offset": "11"}, data=b"x")
    assert past.status_code == 409 and past.headers["Upload-Offset"] == "4"
    assert past.get_json()["name"] == "Upload-Offset" and offset_of(alice, path) == 4
