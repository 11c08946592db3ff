"""The artifact store's contract, on each store (tests/conftest.py's `store` fixture runs every
test on the folder store and on a real S3-protocol server)."""
from __future__ import annotations

import hashlib
import threading
import tracemalloc
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from app.artifacts.s3 import S3Store
from app.artifacts.storage import (
    ContentMissing,
    ContentTooLarge,
    FolderStore,
    StoreUnavailable,
    UploadBusy,
    UploadOffsetMismatch,
    UploadProgress,
    content_disposition,
)
from app.artifacts.stores import make_store
from app.config import ArtifactSettings, Config
from tests.storage_server import MIB, content, leftovers


def chunked(data: bytes, size: int = 700_000):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def everything(store, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(key, start, end))


def breaking_off(data: bytes, after: int):
    """A source that breaks off (as a client dropping the connection) after `after` bytes."""
    yield from chunked(data[:after])
    raise ConnectionResetError("the client went away")


@pytest.mark.parametrize("size", [0, 10, 5 * MIB, 12 * MIB + 3], ids=["empty", "small", "one-part", "parts"])
def test_content_comes_back_as_it_went_in_with_its_size_and_hash(store, size):
    data = content(size)

    stored = store.put("artifacts/one", chunked(data), max_bytes=size)

    assert (stored.size, stored.sha256) == (size, hashlib.sha256(data).hexdigest())
    assert everything(store, "artifacts/one") == data
    assert leftovers(store) == ["artifacts/one"]


def test_a_put_replaces_the_content_under_its_key(store):
    store.put("a", [b"first"], max_bytes=100)
    store.put("a", [b"second"], max_bytes=100)
    assert everything(store, "a") == b"second"


def test_ranges_are_read_from_start_to_end_and_stop_at_the_end_of_the_content(store):
    data = content(11 * MIB)
    store.put("k", chunked(data), max_bytes=len(data))

    assert everything(store, "k", 5) == data[5:]
    assert everything(store, "k", 0, 1) == data[:1]
    assert everything(store, "k", 5 * MIB - 2, 5 * MIB + 2) == data[5 * MIB - 2:5 * MIB + 2]  # across parts
    assert everything(store, "k", 10 * MIB, 20 * MIB) == data[10 * MIB:]  # an end past the end
    assert everything(store, "k", len(data) - 1) == data[-1:]
    assert everything(store, "k", len(data)) == b""  # a start at or past the end: nothing
    assert everything(store, "k", len(data) + 10, len(data) + 20) == b""
    assert everything(store, "k", 7, 7) == b""


def test_an_empty_content_reads_as_nothing_from_any_start(store):
    store.put("empty", [], max_bytes=10)
    assert everything(store, "empty") == b""
    assert everything(store, "empty", 3) == b""


def test_reads_are_streamed_in_chunks_of_bounded_size(store):
    data = content(6 * MIB)
    store.put("k", chunked(data), max_bytes=len(data))
    sizes = [len(chunk) for chunk in store.read("k")]
    assert sum(sizes) == len(data) and max(sizes) <= MIB


@pytest.mark.parametrize("size", [3 * MIB, 17 * MIB], ids=["within-a-part", "after-parts"])
def test_content_too_large_is_refused_and_leaves_nothing(store, size):
    with pytest.raises(ContentTooLarge) as refused:
        store.put("k", chunked(content(size)), max_bytes=size - 1)

    assert refused.value.max_bytes == size - 1
    assert leftovers(store) == []
    with pytest.raises(ContentMissing):
        store.read("k")


def test_content_too_large_leaves_what_was_there_before(store):
    store.put("k", [b"kept"], max_bytes=10)
    with pytest.raises(ContentTooLarge):
        store.put("k", chunked(content(12 * MIB)), max_bytes=11 * MIB)
    assert everything(store, "k") == b"kept"
    assert leftovers(store) == ["k"]


@pytest.mark.parametrize("after", [MIB, 13 * MIB], ids=["within-a-part", "after-parts"])
def test_a_source_breaking_off_midway_leaves_nothing(store, after):
    with pytest.raises(ConnectionResetError):
        store.put("k", breaking_off(content(20 * MIB), after), max_bytes=100 * MIB)

    assert leftovers(store) == []
    with pytest.raises(ContentMissing):
        store.read("k")


def test_reading_a_missing_key_says_so_before_any_byte(store):
    with pytest.raises(ContentMissing):
        store.read("nothing/here")  # raised by the call, so an API can answer 404 before streaming
    with pytest.raises(ContentMissing):
        store.read("nothing/here", 4, 4)


def test_delete_removes_the_content_and_is_idempotent(store):
    store.put("k", [b"data"], max_bytes=10)

    store.delete("k")
    store.delete("k")
    store.delete("never/was")

    with pytest.raises(ContentMissing):
        store.read("k")
    assert leftovers(store) == []


def test_a_large_streamed_put_does_not_hold_the_content_in_memory(store):
    block = content(MIB)
    size = 50 * MIB

    tracemalloc.start()
    try:
        stored = store.put("big", (block for _ in range(size // MIB)), max_bytes=size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored.size == size
    assert peak < 20 * MIB, f"{peak / MIB:.1f} MiB at the peak of a {size // MIB} MiB put"


def test_the_folder_store_has_no_download_url(tmp_path):
    store = FolderStore(tmp_path)
    store.put("k", [b"x"], max_bytes=1)
    assert store.download_url("k", file_name="x.csv", mime_type="text/csv", seconds=60) is None


def test_s3_downloads_from_a_presigned_url_with_the_file_name_and_type(s3_settings):
    store = S3Store(s3_settings)
    data = content(100_000)
    store.put("artifacts/report", chunked(data), max_bytes=len(data))

    url = store.download_url("artifacts/report", file_name="résumé 1.csv", mime_type="text/csv", seconds=60)

    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == data
        assert response.headers["Content-Type"] == "text/csv"
        assert response.headers["Content-Disposition"] == content_disposition("résumé 1.csv")


@pytest.mark.parametrize("name, disposition", [
    ("report.csv", "attachment; filename=\"report.csv\"; filename*=UTF-8''report.csv"),
    ("out/résumé 1.csv", "attachment; filename=\"r?sum? 1.csv\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.csv"),
    ('a"b\\c\r\nd', "attachment; filename=\"abcd\"; filename*=UTF-8''a%22b%5Cc%0D%0Ad"),
    (None, "attachment; filename=\"artifact\"; filename*=UTF-8''artifact"),
])
def test_a_download_is_named_after_the_files_last_path_segment_whatever_its_characters(name, disposition):
    assert content_disposition(name) == disposition


def test_s3_without_presigned_downloads_streams_through_the_api(s3_server, s3_settings):
    store = S3Store(s3_server.settings(s3_settings.bucket, presigned_downloads=False))
    assert store.download_url("k", file_name="x", mime_type="text/plain", seconds=60) is None


def test_a_missing_bucket_is_a_clear_error_naming_it(s3_server):
    store = S3Store(s3_server.settings("no-such-bucket"))

    with pytest.raises(StoreUnavailable, match="'no-such-bucket' at http://127.0.0.1:.*NoSuchBucket"):
        store.put("k", [b"data"], max_bytes=10)
    with pytest.raises(StoreUnavailable, match="no-such-bucket"):
        store.put("k", chunked(content(12 * MIB)), max_bytes=20 * MIB)


def test_an_unreachable_store_is_a_clear_error(s3_server):
    from tests.serving import free_port

    unreachable = S3Store(replace(s3_server.settings("b"), endpoint_url=f"http://127.0.0.1:{free_port()}"))

    with pytest.raises(StoreUnavailable, match="cannot be used"):
        unreachable.read("k")


def test_the_configuration_names_the_store(s3_server, tmp_path: Path):
    folder = make_store(Config(database_url="sqlite://", secret_key="s", data_dir=tmp_path))
    assert isinstance(folder, FolderStore) and folder.root == tmp_path / "artifacts"

    settings = s3_server.settings("configured")
    s3 = make_store(Config(database_url="sqlite://", secret_key="s", data_dir=tmp_path,
                           artifacts=ArtifactSettings(s3=settings)))
    assert isinstance(s3, S3Store) and s3.bucket == "configured"


# --- resumable uploads: appended to piece by piece, finished into place -------------------------

def pieces(data: bytes, sizes: list[int]):
    """`data` cut at the given sizes (the last piece takes the rest)."""
    start = 0
    for size in sizes:
        yield data[start:start + size]
        start += size
    yield data[start:]


def test_a_resumable_upload_in_pieces_of_any_size_becomes_the_content(store):
    data = content(12 * MIB + 3)
    assert store.upload_progress("up", len(data)) == UploadProgress(0, None)

    offset = 0
    for piece in pieces(data, [1, 3 * MIB, 4 * MIB + 7, 10, 2 * MIB]):
        offset = store.append("up", offset, chunked(piece), len(data))
        progress = store.upload_progress("up", len(data))
        assert progress.offset == offset and progress.touched_at is not None
        with pytest.raises(ContentMissing):
            store.read("up")  # invisible until finished
    assert offset == len(data)

    stored = store.finish_upload("up", len(data))

    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert everything(store, "up") == data
    assert leftovers(store) == ["up"]
    assert store.upload_progress("up", len(data)).offset == len(data)
    assert store.finish_upload("up", len(data)) == stored  # finishing again measures it again


def test_an_append_elsewhere_than_the_offset_is_refused_and_changes_nothing(store):
    data = content(7 * MIB)
    store.append("up", 0, chunked(data[:6 * MIB]), len(data))

    for wrong in (0, 5 * MIB, 6 * MIB + 1):
        with pytest.raises(UploadOffsetMismatch) as refused:
            store.append("up", wrong, [data[wrong:wrong + 10]], len(data))
        assert refused.value.offset == 6 * MIB
    with pytest.raises(UploadOffsetMismatch):
        store.append("never-begun", 10, [b"x"], 100)
    assert store.upload_progress("up", len(data)).offset == 6 * MIB
    with pytest.raises(UploadOffsetMismatch):
        store.finish_upload("up", len(data))  # not whole yet


@pytest.mark.parametrize("after", [3 * MIB + 5, 11 * MIB + 1], ids=["within-a-part", "after-parts"])
def test_an_append_breaking_off_keeps_what_arrived_and_the_upload_goes_on_from_there(store, after):
    data = content(14 * MIB)
    offset = store.append("up", 0, chunked(data[:MIB]), len(data))

    with pytest.raises(ConnectionResetError):
        store.append("up", offset, breaking_off(data[offset:], after - offset), len(data))

    assert store.upload_progress("up", len(data)).offset == after
    store.append("up", after, chunked(data[after:]), len(data))
    assert store.finish_upload("up", len(data)).sha256 == hashlib.sha256(data).hexdigest()
    assert everything(store, "up") == data
    assert leftovers(store) == ["up"]


def test_an_append_past_the_uploads_length_keeps_what_fits_before_it(store):
    data = content(6 * MIB)
    with pytest.raises(ContentTooLarge):
        store.append("up", 0, chunked(data + b"overflow", MIB), len(data))
    assert store.upload_progress("up", len(data)).offset == len(data)  # every chunk before the one past it
    assert store.finish_upload("up", len(data)).size == len(data)
    assert everything(store, "up") == data


@pytest.mark.parametrize("stage", ["begun", "in-parts", "finished"])
def test_deleting_an_upload_at_any_stage_leaves_nothing(store, stage):
    data = content(12 * MIB)
    store.append("up", 0, chunked(data[:2 * MIB if stage == "begun" else 11 * MIB]), len(data))
    if stage == "finished":
        store.append("up", 11 * MIB, chunked(data[11 * MIB:]), len(data))
        store.finish_upload("up", len(data))

    store.delete("up")

    assert leftovers(store) == []
    assert store.upload_progress("up", len(data)) == UploadProgress(0, None)
    with pytest.raises(ContentMissing):
        store.finish_upload("up", len(data))


def test_one_append_at_a_time_on_the_folder_store(tmp_path):
    store, started, release = FolderStore(tmp_path), threading.Event(), threading.Event()

    def slow():
        yield b"first"
        started.set()
        release.wait(10)
        yield b"second"

    appending = threading.Thread(target=store.append, args=("up", 0, slow(), 100))
    appending.start()
    try:
        assert started.wait(10)
        with pytest.raises(UploadBusy):
            store.append("up", 5, [b"x"], 100)
        with pytest.raises(UploadBusy):
            store.finish_upload("up", 5)
    finally:
        release.set()
        appending.join(10)
    assert store.upload_progress("up", 100).offset == len(b"firstsecond")


def test_the_api_answers_503_while_the_store_cannot_be_used(app, alice, s3_server, stored):
    app.extensions["artifact_store"] = S3Store(s3_server.settings("no-such-bucket"))
    before = stored()

    response = alice.post("/1/artifacts", data=b"content", headers={"Content-Type": "text/plain"})

    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.get_json() == {"message": "the artifact store is unavailable; retry later"}
    assert stored() == before
