"""The artifact stores of the tests: a real S3-protocol server (moto's standalone server, in a
process of its own so that its memory and threads are not the test process's, on a free port,
waited for with a deadline; each test gets a fresh bucket on it), and what a store holds."""
from __future__ import annotations

import hashlib
import os
import urllib.request
import uuid
from pathlib import Path

from app.config import S3Settings
from tests.serving import Process, free_port, wait_until

REGION = "us-east-1"
MIB = 1024 * 1024


class S3Server:
    def __init__(self, log: Path):
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.server = Process(["--host", "127.0.0.1", "--port", str(self.port)], dict(os.environ), log.parent, log,
                              module="moto.server")

    def start(self) -> S3Server:
        self.server.start()
        wait_until(self._answers, 60, f"the S3 server on port {self.port} answering (log: {self.server.log})")
        return self

    def _answers(self) -> bool:
        if (code := self.server.process.poll()) is not None:
            raise AssertionError(f"the S3 server exited with {code}: {self.server.log.read_text()}")
        try:
            with urllib.request.urlopen(self.endpoint_url + "/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.server.stop()

    def settings(self, bucket: str | None = None, **overrides) -> S3Settings:
        """Settings for a bucket on this server (a new name unless given; not created)."""
        return S3Settings(bucket=bucket or f"test-{uuid.uuid4().hex[:20]}", endpoint_url=self.endpoint_url,
                          region=REGION, access_key_id="testing", secret_access_key="testing", **overrides)


def content(size: int, seed: int = 0) -> bytes:
    """`size` bytes that differ from one position to the next (a misplaced part shows)."""
    block = hashlib.sha256(str(seed).encode()).digest() * (MIB // 32 + 1)
    return (block * (size // len(block) + 1))[:size]


def leftovers(store) -> list[str]:
    """What the store holds, half-written things included: files (temporary ones too), or
    objects and multipart uploads not completed."""
    from app.artifacts.storage import FolderStore

    if isinstance(store, FolderStore):
        if not store.root.exists():
            return []
        return sorted(str(path.relative_to(store.root)) for path in store.root.rglob("*") if path.is_file())
    objects = store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    return sorted([item["Key"] for item in objects] + [f"upload of {item['Key']}" for item in uploads])
