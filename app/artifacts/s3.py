"""The artifact store on an S3-compatible object store (AWS S3, MinIO, Ceph, GCS interoperability).

A put is one multipart upload: the content goes up in parts of PART_BYTES while its size and
SHA-256 are computed, and the object appears only when the upload completes; any failure aborts
the upload, so nothing is left (not even parts an operator would pay for). Content that fits in
one part is a single PUT. A bucket lifecycle rule that aborts incomplete multipart uploads after
a day is still worth having, for a process killed between two parts.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator

import boto3
import botocore.exceptions
from botocore.config import Config as BotoConfig

from app.artifacts.storage import CHUNK_BYTES, ContentMissing, Stored, StoreUnavailable, content_disposition, measured
from app.config import S3Settings

log = logging.getLogger(__name__)

MIB = 1024 * 1024
PART_BYTES = 8 * MIB  # S3 wants parts of at least 5 MiB, except the last

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
            if _code(error) in _UNUSABLE_CODES:
                raise self._unusable(error) from error
            raise
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectTimeoutError) as error:
            raise self._unusable(error) from error

    def create_bucket(self) -> None:
        """For tests and first-time setups: production buckets are the operator's to create."""
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as error:
            if _code(error) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> Stored:
        digest = hashlib.sha256()
        parts = _parts(measured(chunks, max_bytes, digest), self.part_bytes)
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
            if _code(error) in ("404", "NoSuchKey", "NotFound"):
                raise ContentMissing(key) from None
            raise

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)  # S3 answers 204 whether or not there was one

    def download_url(self, key: str, *, file_name: str, mime_type: str, seconds: int) -> str | None:
        if not self.settings.presigned_downloads:
            return None
        return self.client.generate_presigned_url("get_object", ExpiresIn=seconds, Params={
            "Bucket": self.bucket, "Key": key, "ResponseContentType": mime_type,
            "ResponseContentDisposition": content_disposition(file_name)})


def _parts(chunks: Iterable[bytes], part_bytes: int) -> Iterator[bytes]:
    """The chunks regrouped into parts of `part_bytes` (the last may be shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= part_bytes:
            with memoryview(buffer) as view:  # one copy of the part, not two
                part = bytes(view[:part_bytes])
            del buffer[:part_bytes]
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
