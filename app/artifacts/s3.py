"""The artifact store on an S3-compatible object store (AWS S3, MinIO, Ceph, GCS interoperability).

A put is one multipart upload: the content goes up in parts of PART_BYTES while its size and
SHA-256 are computed, and the object appears only when the upload completes; any failure aborts
the upload, so nothing is left (not even parts an operator would pay for). Content that fits in
one part is a single PUT. A bucket lifecycle rule that aborts incomplete multipart uploads after
a day is still worth having, for a process killed between two parts.

A resumable upload is a multipart upload on its key too, appended to by any replica: its parts
are all one size (S3 wants at least 5 MiB but for the last), so the bytes held are the number of
whole parts times that size, plus the remainder that the last append left under a part, which
waits in a small object of its own (the tail, under .uploads/) naming the upload and the part it
will begin. Every step leaves a state from which the offset follows: a part is there or not, and
a tail counts only if it begins the part after the last whole one.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator

import boto3
import botocore.exceptions
from botocore.config import Config as BotoConfig

from app.artifacts.storage import (
    CHUNK_BYTES,
    ContentMissing,
    Stored,
    StoreUnavailable,
    UploadOffsetMismatch,
    UploadProgress,
    content_disposition,
    measured,
    sha256_of,
)
from app.config import S3Settings

log = logging.getLogger(__name__)

MIB = 1024 * 1024
PART_BYTES = 8 * MIB  # S3 wants parts of at least 5 MiB, except the last
MAX_PARTS = 10_000    # of one multipart upload
UPLOADS_PREFIX = ".uploads/"  # the tails of resumable uploads
_MISSING_CODES = ("404", "NoSuchKey", "NotFound")

# The errors that mean the store is not usable as configured, whatever the request.
_UNUSABLE_CODES = {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                   "AllAccessDisabled", "InvalidBucketName", "PermanentRedirect", "AuthorizationHeaderMalformed"}


def make_client(settings: S3Settings):
    """A client of its own session: a boto3 client is thread-safe, the default session is not."""
    session = boto3.session.Session(aws_access_key_id=settings.access_key_id,
                                    aws_secret_access_key=settings.secret_access_key,
                                    region_name=settings.region)
    config = BotoConfig(
        signature_version="s3v4",
        # Other S3 implementations expect the bucket in the path rather than in the host name.
        s3={"addressing_style": "path" if settings.endpoint_url else "auto"},
        # Checksums only where S3 requires them: several S3-compatible stores refuse the
        # trailing CRC checksums that botocore sends by default since 1.36.
        request_checksum_calculation="when_required", response_checksum_validation="when_required",
        retries={"mode": "standard", "max_attempts": 5})
    return session.client("s3", endpoint_url=settings.endpoint_url, config=config)


def _code(error: botocore.exceptions.ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


class S3Store:
    """Content as objects of one bucket, under the store's keys."""

    def __init__(self, settings: S3Settings, *, part_bytes: int = PART_BYTES):
        if part_bytes < 5 * MIB:
            raise ValueError("S3 parts are at least 5 MiB")
        self.settings = settings
        self.bucket = settings.bucket
        self.part_bytes = part_bytes
        self.client = make_client(settings)

    def _unusable(self, error: Exception) -> StoreUnavailable:
        where = self.settings.endpoint_url or "AWS S3"
        if isinstance(error, botocore.exceptions.ClientError):
            reason = f"{_code(error)}: {error.response.get('Error', {}).get('Message', '')}".rstrip(": ")
        else:
            reason = str(error)
        return StoreUnavailable(f"the object store bucket {self.bucket!r} at {where} cannot be used ({reason})")

    def _call(self, operation: str, **params):
        """One S3 call; a store that cannot be used as configured becomes StoreUnavailable."""
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except botocore.exceptions.ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            if _code(error) in _UNUSABLE_CODES or status >= 500:  # 5xx: still failing after the retries
                raise self._unusable(error) from error
            raise
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError,
                botocore.exceptions.ConnectionClosedError) as error:
            raise self._unusable(error) from error

    def create_bucket(self) -> None:
        """For tests and first-time setups: production buckets are the operator's to create."""
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as error:
            if _code(error) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def _part_bytes_for(self, size: int) -> int:
        """The part size for content of up to `size` bytes: larger parts past 10,000 of them."""
        needed = -(-size // MAX_PARTS)
        return max(self.part_bytes, -(-needed // MIB) * MIB)

    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> Stored:
        digest = hashlib.sha256()
        parts = _parts(measured(chunks, max_bytes, digest), self._part_bytes_for(max_bytes))
        held = [next(parts, b"")]
        second = next(parts, None)
        if second is None:  # one part: a single PUT, no multipart upload to clean up
            self._call("put_object", Key=key, Body=held[0])
            return Stored(len(held[0]), digest.hexdigest())
        held.append(second)
        del second  # `held` alone keeps the first two parts, until they are sent
        upload_id = self._call("create_multipart_upload", Key=key)["UploadId"]
        try:
            size, done = 0, []
            for number, body in enumerate(_taken(held, parts), start=1):
                answer = self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=body)
                done.append({"PartNumber": number, "ETag": answer["ETag"]})
                size += len(body)
                del body  # a part is let go before the next one is gathered
            self._call("complete_multipart_upload", Key=key, UploadId=upload_id,
                        MultipartUpload={"Parts": done})
        except BaseException:
            self._abort(key, upload_id)
            raise
        return Stored(size, digest.hexdigest())

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
        except Exception:  # the original failure matters more; a lifecycle rule is the backstop
            log.exception("could not abort the multipart upload %s of %s", upload_id, key)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            self._head(key)
            return iter(())
        byte_range = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            body = self._call("get_object", Key=key, Range=byte_range)["Body"]
        except botocore.exceptions.ClientError as error:
            if _code(error) == "NoSuchKey":
                raise ContentMissing(key) from None
            if _code(error) == "InvalidRange":  # starts at or past the end
                return iter(())
            raise
        return _body_chunks(body)

    def _head(self, key: str) -> dict:
        try:
            return self._call("head_object", Key=key)
        except botocore.exceptions.ClientError as error:
            if _code(error) in _MISSING_CODES:
                raise ContentMissing(key) from None
            raise

    def delete(self, key: str) -> None:
        """The content, and whatever a resumable upload to the key left (one request for the
        two objects, one to find an upload)."""
        for upload in self._pending_uploads(key):
            self._abort(key, upload["UploadId"])
        self._call("delete_objects", Delete={"Objects": [{"Key": key}, {"Key": _tail_key(key)}], "Quiet": True})

    def download_url(self, key: str, *, file_name: str, mime_type: str, seconds: int) -> str | None:
        if not self.settings.presigned_downloads:
            return None
        return self.client.generate_presigned_url("get_object", ExpiresIn=seconds, Params={
            "Bucket": self.bucket, "Key": key, "ResponseContentType": mime_type,
            "ResponseContentDisposition": content_disposition(file_name)})

    def local_file(self, key: str) -> None:
        return None

    # --- resumable uploads ---------------------------------------------------------------------

    def _pending_uploads(self, key: str) -> list[dict]:
        """The multipart uploads begun on `key`, the first begun first."""
        uploads = self._call("list_multipart_uploads", Prefix=key).get("Uploads", [])
        return sorted((upload for upload in uploads if upload["Key"] == key), key=lambda upload: upload["Initiated"])

    def _whole_parts(self, key: str, upload_id: str, part_bytes: int) -> list[dict]:
        """The upload's parts 1, 2, ... for as long as each is whole."""
        parts, marker = [], 0
        while True:
            page = self._call("list_parts", Key=key, UploadId=upload_id, PartNumberMarker=marker)
            for part in page.get("Parts", []):
                if part["PartNumber"] != len(parts) + 1 or part["Size"] != part_bytes:
                    return parts
                parts.append(part)
            if not page.get("IsTruncated"):
                return parts
            marker = page["NextPartNumberMarker"]

    def _tail(self, key: str, upload_id: str, number: int, *, read: bool = False) -> dict | None:
        """The tail, if it belongs to this upload and begins part `number` (with its Body if `read`)."""
        try:
            answer = self._call("get_object" if read else "head_object", Key=_tail_key(key))
        except botocore.exceptions.ClientError as error:
            if _code(error) in _MISSING_CODES:
                return None
            raise
        if answer.get("Metadata", {}) != {"upload-id": upload_id, "part": str(number)}:
            if read:
                answer["Body"].close()
            return None
        return answer

    def _keep_tail(self, key: str, upload_id: str, number: int, data: bytes) -> None:
        try:
            self._call("put_object", Key=_tail_key(key), Body=data,
                       Metadata={"upload-id": upload_id, "part": str(number)})
        except Exception:  # the bytes are lost; the offset still follows from what is there
            log.exception("could not keep the last %d bytes of the upload to %s", len(data), key)

    def _state(self, key: str, upload_id: str, part_bytes: int, *, read: bool = False):
        """(whole parts, tail or None, offset) of a pending upload."""
        parts = self._whole_parts(key, upload_id, part_bytes)
        tail = self._tail(key, upload_id, len(parts) + 1, read=read)
        return parts, tail, len(parts) * part_bytes + (tail["ContentLength"] if tail else 0)

    def upload_progress(self, key: str, length: int) -> UploadProgress:
        pending = self._pending_uploads(key)
        if not pending:
            try:
                head = self._head(key)
            except ContentMissing:  # not begun
                return UploadProgress(0, None)
            return UploadProgress(head["ContentLength"], head["LastModified"])  # finished
        parts, tail, offset = self._state(key, pending[0]["UploadId"], self._part_bytes_for(length))
        touched = [pending[0]["Initiated"], *(part["LastModified"] for part in parts[-1:])]
        return UploadProgress(offset, max(touched + ([tail["LastModified"]] if tail else [])))

    def append(self, key: str, offset: int, chunks: Iterable[bytes], length: int) -> int:
        part_bytes = self._part_bytes_for(length)
        pending = self._pending_uploads(key)
        if pending:
            upload_id = pending[0]["UploadId"]
            parts, tail, held = self._state(key, upload_id, part_bytes, read=True)
            buffer = bytearray(_read_all(tail) if tail else b"")
            number = len(parts) + 1
        else:
            held = self.upload_progress(key, length).offset
            upload_id, buffer, number = None, bytearray(), 1
        if held != offset:
            raise UploadOffsetMismatch(held)
        if upload_id is None:
            upload_id = self._call("create_multipart_upload", Key=key)["UploadId"]
        received, keep = 0, True
        try:
            for chunk in measured(chunks, length - offset):
                buffer += chunk
                received += len(chunk)
                while len(buffer) >= part_bytes:
                    self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=number,
                               Body=_take(buffer, part_bytes))
                    number += 1
        except botocore.exceptions.ClientError as error:
            if _code(error) == "NoSuchUpload":  # deleted meanwhile
                keep = False
                raise ContentMissing(key) from None
            raise
        finally:
            if keep and received:  # what arrived under a part waits in the tail
                self._keep_tail(key, upload_id, number, bytes(buffer[:part_bytes - 1]))
        return offset + received

    def finish_upload(self, key: str, length: int) -> Stored:
        pending = self._pending_uploads(key)
        if not pending:  # finished before: measure the content
            return Stored(self._head(key)["ContentLength"], sha256_of(self.read(key)))
        upload_id = pending[0]["UploadId"]
        parts, tail, held = self._state(key, upload_id, self._part_bytes_for(length), read=True)
        if held != length:
            if tail:
                tail["Body"].close()
            raise UploadOffsetMismatch(held)
        done = [{"PartNumber": part["PartNumber"], "ETag": part["ETag"]} for part in parts]
        if tail:
            answer = self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=len(parts) + 1,
                                Body=_read_all(tail))
            done.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})
        self._call("complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})
        for other in pending[1:]:  # begun by a racing first append: never counted
            self._abort(key, other["UploadId"])
        self._call("delete_object", Key=_tail_key(key))
        # The SHA-256 of content sent over many requests, perhaps to several replicas: read back.
        return Stored(length, sha256_of(self.read(key)))


def _tail_key(key: str) -> str:
    return UPLOADS_PREFIX + key


def _read_all(answer: dict) -> bytes:
    with answer["Body"] as body:
        return body.read()


def _take(buffer: bytearray, size: int) -> bytes:
    """The first `size` bytes, cut from the buffer (one copy, not two)."""
    with memoryview(buffer) as view:
        taken = bytes(view[:size])
    del buffer[:size]
    return taken


def _parts(chunks: Iterable[bytes], part_bytes: int) -> Iterator[bytes]:
    """The chunks regrouped into parts of `part_bytes` (the last may be shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= part_bytes:
            part = _take(buffer, part_bytes)
            yield part
            del part
    if buffer:
        yield bytes(buffer)


def _taken(held: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    """The held parts, each let go as it is handed on, then the rest."""
    while held:
        yield held.pop(0)
    yield from rest


def _body_chunks(body) -> Iterator[bytes]:
    with body:
        yield from body.iter_chunks(CHUNK_BYTES)
