"""Where artifact content lives: one small interface, a folder for the embedded default and an
S3-compatible object store in production (app/artifacts/s3.py). Content is streamed in chunks
both ways, so no artifact is ever held in memory whole."""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

CHUNK_BYTES = 1024 * 1024


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


def content_disposition(file_name: str | None) -> str:
    """An attachment named after the file's last path segment, whatever its characters: a
    printable ASCII fallback and the UTF-8 name (RFC 6266)."""
    name = (file_name or "artifact").rsplit("/", 1)[-1]
    fallback = "".join(c for c in name.encode("ascii", "replace").decode() if c.isprintable() and c not in '"\\')
    return f"attachment; filename=\"{fallback or 'artifact'}\"; filename*=UTF-8''{quote(name, safe='')}"


def measured(chunks: Iterable[bytes], max_bytes: int, digest) -> Iterator[bytes]:
    """Pass the chunks on, feeding `digest`, and stop with ContentTooLarge once past `max_bytes`."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise ContentTooLarge(max_bytes)
        digest.update(chunk)
        yield chunk


class FolderStore:
    """Content as files under one folder; a write lands under a temporary name and is renamed
    into place, so a reader never sees half of it and an interrupted write leaves nothing."""

    def __init__(self, root: Path):
        self.root = root
        self._partial = root / ".partial"

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"{key!r} is not a store key")
        return self.root.joinpath(*parts)

    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> Stored:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._partial.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, temporary = tempfile.mkstemp(dir=self._partial)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in measured(chunks, max_bytes, digest):
                    handle.write(chunk)
                    size += len(chunk)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        return Stored(size, digest.hexdigest())

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        try:
            handle = open(self._path(key), "rb")  # closed by the generator
        except FileNotFoundError:
            raise ContentMissing(key) from None
        return _file_chunks(handle, start, end)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def download_url(self, key: str, *, file_name: str, mime_type: str, seconds: int) -> None:
        return None


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

