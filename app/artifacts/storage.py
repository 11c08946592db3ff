"""Where artifact content lives: one small interface, a folder for the embedded default and an
S3-compatible object store in production (app/artifacts/s3.py). Content is streamed in chunks
both ways, so no artifact is ever held in memory whole.

A resumable upload (app/artifacts/resumable.py) keeps its partial content in the store too, so
that any API replica can take the next piece: the store alone says how far it has come."""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import queue
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote

CHUNK_BYTES = 1024 * 1024
SYNC_BYTES = 64 * CHUNK_BYTES  # how much of a write may wait in memory before its writeback is asked for


@dataclass(frozen=True)
class Stored:
    size: int
    sha256: str  # hex


class ContentTooLarge(Exception):
    """The content went past the size allowed; nothing of it was kept."""

    def __init__(self, max_bytes: int):
        super().__init__(f"the content is larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


class ContentMissing(Exception):
    """The store has nothing under this key."""


@dataclass(frozen=True)
class UploadProgress:
    offset: int                  # bytes of the upload the store holds (all of them once finished)
    touched_at: datetime | None  # when the store last took some (None: nothing yet)


class UploadOffsetMismatch(Exception):
    """An append did not start where the upload stands."""

    def __init__(self, offset: int):
        super().__init__(f"the upload stands at {offset} bytes")
        self.offset = offset


class UploadBusy(Exception):
    """Another request is appending to this upload right now."""


class StoreUnavailable(Exception):
    """The store cannot be used as configured (no such bucket, credentials refused, no answer);
    the message says which store and why, for the operator."""


class Store(Protocol):
    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> Stored:
        """Keep the content under `key`, all or nothing: a failure (ContentTooLarge as soon as
        the content passes `max_bytes`, or the source breaking off) leaves nothing behind."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes [start, end) of the content, in chunks; ContentMissing if there is none."""

    def delete(self, key: str) -> None:
        """Remove the content; a no-op if there is none."""

    def download_url(self, key: str, *, file_name: str, mime_type: str, seconds: int) -> str | None:
        """A short-lived URL a client may download from directly, or None: the API streams it."""

    def local_file(self, key: str) -> BinaryIO | None:
        """The content as an open local file, which the server can hand to the kernel whole
        (sendfile), or None where content is not on this machine; ContentMissing if there is none."""

    # A resumable upload of `length` bytes to `key`: appended to piece by piece, by any replica,
    # invisible under `key` until finished; delete(key) removes it at any stage.

    def upload_progress(self, key: str, length: int) -> UploadProgress:
        """How much of the upload the store holds (0 for one not begun, all once finished)."""

    def append(self, key: str, offset: int, chunks: Iterable[bytes], length: int) -> int:
        """Add the chunks at `offset` (UploadOffsetMismatch where the upload stands elsewhere,
        UploadBusy while another append runs, where the store can tell), never past `length`
        (ContentTooLarge). What arrives is kept even when the source breaks off, in pieces the
        store chooses; the new offset is returned."""

    def finish_upload(self, key: str, length: int) -> Stored:
        """Make the upload's `length` bytes the content under `key`, with their size and SHA-256
        (read back); finishing a finished upload measures it again."""


def content_disposition(file_name: str | None) -> str:
    """An attachment named after the file's last path segment, whatever its characters: a
    printable ASCII fallback and the UTF-8 name (RFC 6266)."""
    name = (file_name or "artifact").rsplit("/", 1)[-1]
    fallback = "".join(c for c in name.encode("ascii", "replace").decode() if c.isprintable() and c not in '"\\')
    return f"attachment; filename=\"{fallback or 'artifact'}\"; filename*=UTF-8''{quote(name, safe='')}"


def measured(chunks: Iterable[bytes], max_bytes: int, digest=None) -> Iterator[bytes]:
    """Pass the chunks on, feeding `digest` if any, and stop with ContentTooLarge once past `max_bytes`."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise ContentTooLarge(max_bytes)
        if digest is not None:
            digest.update(chunk)
        yield chunk


class BackgroundSha256:
    """SHA-256 computed in a thread of its own while the caller writes the same chunks (hashlib
    lets go of the GIL on large buffers): a transfer then costs the slower of the two, not both.
    At most QUEUED chunks wait, so memory stays bounded; use it as a context manager."""

    QUEUED = 8

    def __init__(self):
        self._digest = hashlib.sha256()
        self._chunks: queue.Queue[bytes | None] = queue.Queue(self.QUEUED)
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._digest.update(chunk)

    def __enter__(self) -> BackgroundSha256:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._chunks.put(None)
        self._thread.join()

    def update(self, chunk: bytes) -> None:
        self._chunks.put(chunk)

    def hexdigest(self) -> str:
        """The hash of every chunk given (after the block has ended)."""
        return self._digest.hexdigest()


def _sync_file_range():
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):  # not Linux
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    return function


_SYNC_FILE_RANGE = _sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Have the disk start writing these bytes now, without waiting for them (Linux's
    sync_file_range, which Python's os module lacks): the final fsync then finds little left to
    do, and unlike an fdatasync nothing stalls while the disk works. Elsewhere a no-op."""
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def sha256_of(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


class FolderStore:
    """Content as files under one folder; a write lands under a temporary name and is renamed
    into place, so a reader never sees half of it and an interrupted write leaves nothing."""

    def __init__(self, root: Path):
        self.root = root
        self._partial = root / ".partial"
        self._uploads = root / ".uploads"  # resumable uploads, appended to in place

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"{key!r} is not a store key")
        return self.root.joinpath(*parts)

    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> Stored:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._partial.mkdir(parents=True, exist_ok=True)
        size = 0
        fd, temporary = tempfile.mkstemp(dir=self._partial)
        try:
            with BackgroundSha256() as digest, os.fdopen(fd, "wb", buffering=0) as handle:
                synced = 0
                for chunk in measured(chunks, max_bytes, digest):
                    handle.write(chunk)
                    size += len(chunk)
                    if size - synced >= SYNC_BYTES:  # the disk writes while the rest arrives
                        start_writeback(handle.fileno(), synced, size - synced)
                        synced = size
                os.fsync(handle.fileno())  # the record that says "ready" is written only after this
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        return Stored(size, digest.hexdigest())

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return _file_chunks(self.local_file(key), start, end)  # which closes the file

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._upload_path(key).unlink(missing_ok=True)

    def download_url(self, key: str, *, file_name: str, mime_type: str, seconds: int) -> None:
        return None

    def local_file(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise ContentMissing(key) from None

    def _upload_path(self, key: str) -> Path:
        return self._uploads / self._path(key).relative_to(self.root)

    def upload_progress(self, key: str, length: int) -> UploadProgress:
        for path in (self._upload_path(key), self._path(key)):
            try:
                status = path.stat()
            except FileNotFoundError:
                continue
            return UploadProgress(status.st_size, datetime.fromtimestamp(status.st_mtime, UTC))
        return UploadProgress(0, None)

    def append(self, key: str, offset: int, chunks: Iterable[bytes], length: int) -> int:
        path = self._upload_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as handle:
            _lock(handle, key)
            held = os.fstat(handle.fileno()).st_size
            if held != offset:
                if held == 0:  # opened after the upload was finished (moved away): leave nothing
                    path.unlink(missing_ok=True)
                raise UploadOffsetMismatch(held if held else self.upload_progress(key, length).offset)
            written = 0
            try:
                for chunk in measured(chunks, length - offset):
                    handle.write(chunk)
                    written += len(chunk)
            finally:
                handle.flush()  # what arrived is kept, whatever broke off
            return offset + written

    def finish_upload(self, key: str, length: int) -> Stored:
        path, upload = self._path(key), self._upload_path(key)
        try:
            handle = open(upload, "rb")
        except FileNotFoundError:  # finished before: measure the content
            if not path.exists():
                raise ContentMissing(key) from None
            return Stored(path.stat().st_size, sha256_of(self.read(key)))
        with handle:
            _lock(handle, key)
            size = os.fstat(handle.fileno()).st_size
            if size != length:
                raise UploadOffsetMismatch(size)
            sha256 = sha256_of(iter(lambda: handle.read(CHUNK_BYTES), b""))
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(upload, path)
        return Stored(size, sha256)


def _lock(handle, key: str) -> None:
    """One append (or finish) of an upload at a time, whichever process runs it."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UploadBusy(key) from None


def _file_chunks(handle, start: int, end: int | None) -> Iterator[bytes]:
    with handle:
        handle.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            chunk = handle.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk

