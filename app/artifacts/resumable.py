"""Resumable uploads, decided here: an artifact begun with its announced length (the size limit
and the account's quota checked against it, as for any upload), in status `uploading` while
pieces are appended at its offset, `ready` with its size and SHA-256 once whole.

The partial content lives in the store, which alone says how far an upload has come, so any API
replica may take the next piece. The SHA-256 is computed when the upload is whole, by reading the
content back from the store: a hash's running state cannot be handed from one replica (or one
request) to the next, and reading back costs one pass over content that was just written.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api_errors import ApiError, Conflict, NotFound
from app.artifacts import logic
from app.artifacts.models import Artifact
from app.artifacts.storage import ContentMissing, ContentTooLarge, Store, UploadBusy, UploadOffsetMismatch
from app.config import ArtifactSettings
from app.db import utcnow
from app.status import ArtifactStatus


def begin_upload(session: Session, store: Store, settings: ArtifactSettings, account: str, length: int,
                 name: str | None, mime_type: str | None) -> Artifact:
    """An artifact awaiting `length` bytes; 413 past the size limit, 422 past the quota, which
    counts it at that length from now on. Nothing is in the store until the first piece."""
    remove_stale_uploads(session, store, settings, account)  # what they held counts no more
    if length == 0:  # complete as soon as it is begun
        return logic.upload_artifact(session, store, settings, account, name, mime_type, [], 0)
    logic.upload_allowance(session, account, settings, length)
    artifact_id = logic.new_artifact_id()
    artifact = Artifact(id=artifact_id, name=name, account=account, mime_type=mime_type or logic.DEFAULT_MIME_TYPE,
                        status=ArtifactStatus.UPLOADING, storage_key=logic.storage_key(artifact_id),
                        upload_length=length)
    session.add(artifact)
    session.commit()
    return artifact


def upload_offset(session: Session, store: Store, account: str, artifact_id: str) -> tuple[Artifact, int]:
    """The artifact and how many of its bytes the store holds (all of a complete one's)."""
    artifact = logic.get_artifact(session, account, artifact_id)
    if artifact.status != ArtifactStatus.UPLOADING:
        return artifact, artifact.size
    offset = store.upload_progress(artifact.storage_key, artifact.upload_length).offset
    if offset == artifact.upload_length:  # its last piece arrived, but the request ended before recording it
        _complete(session, store, artifact)
    return artifact, offset


def append_to_upload(session: Session, store: Store, account: str, artifact_id: str, offset: int, chunks,
                     content_length: int | None) -> tuple[Artifact, int]:
    """Add a piece at `offset` (409 where the upload stands elsewhere, 413 past its length); the
    piece that ends it makes the artifact ready. A piece that breaks off keeps what arrived."""
    artifact = logic.get_artifact(session, account, artifact_id)
    if artifact.status != ArtifactStatus.UPLOADING:
        if offset == artifact.size and not content_length:  # a client re-sending its last, empty piece
            return artifact, offset
        raise _standing_at(artifact, artifact.size or 0, offset, "the upload is complete")
    length = artifact.upload_length
    if offset > length:  # never where an upload stands: a mismatch (tus: 409 with the offset to go on from)
        standing = store.upload_progress(artifact.storage_key, length).offset
        raise _standing_at(artifact, standing, offset, f"the upload stands at {standing} bytes")
    if content_length is not None and offset + content_length > length:
        raise _too_long(length, offset)
    session.commit()  # no transaction stays open while the content streams in
    try:
        offset = store.append(artifact.storage_key, offset, chunks, length)
    except UploadOffsetMismatch as mismatch:
        raise _standing_at(artifact, mismatch.offset, offset, f"the upload stands at {mismatch.offset} bytes") \
            from None
    except ContentTooLarge:
        raise _too_long(length, offset) from None
    except UploadBusy:
        raise _busy(artifact) from None
    except ContentMissing:  # deleted while this piece came in
        raise NotFound("no artifact has this id", id=artifact.id) from None
    if offset == length:
        _complete(session, store, artifact)
    return artifact, offset


def _complete(session: Session, store: Store, artifact: Artifact) -> None:
    try:
        stored = store.finish_upload(artifact.storage_key, artifact.upload_length)
    except UploadBusy:
        raise _busy(artifact) from None
    except ContentMissing:
        raise NotFound("no artifact has this id", id=artifact.id) from None
    finished = session.execute(sa.update(Artifact).where(
        Artifact.id == artifact.id, Artifact.status == ArtifactStatus.UPLOADING).values(
        size=stored.size, sha256=stored.sha256, status=ArtifactStatus.READY,
        revision=Artifact.revision + 1)).rowcount  # a statement of its own: no flush bumps it (app.db.Revisioned)
    session.commit()
    if not finished and session.scalar(sa.select(Artifact.id).where(Artifact.id == artifact.id)) is None:
        store.delete(artifact.storage_key)  # deleted while it was being finished: its content goes too
        raise NotFound("no artifact has this id", id=artifact.id)
    session.refresh(artifact)


def remove_stale_uploads(session: Session, store: Store, settings: ArtifactSettings, account: str | None = None,
                         limit: int = 100) -> int:
    """Remove uploads that took no piece for settings.stale_upload_seconds (an account's, or
    anyone's), content and record; the API runs it for the account that begins an upload, the
    worker may run it for all."""
    cutoff = utcnow() - timedelta(seconds=settings.stale_upload_seconds)
    query = sa.select(Artifact).where(Artifact.status == ArtifactStatus.UPLOADING, Artifact.created_at < cutoff)
    if account is not None:
        query = query.where(Artifact.account == account)
    removed = 0
    for artifact in session.scalars(query.order_by(Artifact.created_at).limit(limit)).all():
        touched = store.upload_progress(artifact.storage_key, artifact.upload_length).touched_at
        if (touched or artifact.created_at) >= cutoff:
            continue
        store.delete(artifact.storage_key)
        session.delete(artifact)
        session.commit()
        removed += 1
    return removed


def _standing_at(artifact: Artifact, offset: int, asked: int, message: str) -> Conflict:
    return Conflict(f"Upload-Offset: {message}, not at {asked}; ask with HEAD and go on from there",
                    id=artifact.id, name="Upload-Offset", value=asked, headers={"Upload-Offset": str(offset)})


def _too_long(length: int, offset: int) -> ApiError:
    return ApiError(f"the upload is {length} bytes long: this piece goes past its end (it starts at {offset})",
                    status_code=413)


def _busy(artifact: Artifact) -> ApiError:
    return ApiError("another request is adding to this upload; retry once it is done", id=artifact.id,
                    status_code=423)
