"""What may be done with artifacts, decided here: uploads within the size limit and the account's
quota, who sees what, products registered once per order and name, lineage, and retention."""
from __future__ import annotations

import hashlib
import mimetypes
import uuid
from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api_errors import ApiError, Conflict, Gone, InvalidParameterValue, NotFound
from app.artifacts.models import ARTIFACT_ID_LENGTH, Artifact, ArtifactUse
from app.artifacts.storage import ContentTooLarge, Store, Stored
from app.config import ArtifactSettings
from app.db import utcnow
from app.direct_reads import QuickRead
from app.status import ArtifactStatus

ID_PREFIX = "urn:marketplace:artifact:"
DEFAULT_MIME_TYPE = "application/octet-stream"


def new_artifact_id() -> str:
    return f"{ID_PREFIX}{uuid.uuid4()}"


def storage_key(artifact_id: str) -> str:
    return f"artifacts/{artifact_id.removeprefix(ID_PREFIX)}"


def is_artifact_id(value: str) -> bool:
    return value.startswith(ID_PREFIX)


def used_bytes(session: Session, account: str) -> int:
    """What the account holds, counting an unfinished upload at its announced size."""
    held = sa.func.coalesce(Artifact.size, Artifact.upload_length, 0)
    return session.scalar(sa.select(sa.func.coalesce(sa.func.sum(held), 0)).where(
        Artifact.account == account, Artifact.status != ArtifactStatus.EXPIRED))


def upload_allowance(session: Session, account: str, settings: ArtifactSettings, announced: int | None) -> int:
    """How many bytes one upload may bring: 413 past the size limit, 422 past the account's quota."""
    room = settings.account_quota_bytes - used_bytes(session, account)
    if announced is not None:
        _check_size(announced, settings.max_bytes, room)
    return min(settings.max_bytes, max(room, 0))


def _check_size(size: int, max_bytes: int, room: int) -> None:
    if size > max_bytes:
        raise ApiError(f"an artifact may be at most {max_bytes} bytes", status_code=413)
    if size > room:
        raise InvalidParameterValue(f"the account's storage quota is full: {max(room, 0)} bytes are left; "
                                    "delete artifacts you no longer need", name="size", value=size)


def upload_artifact(session: Session, store: Store, settings: ArtifactSettings, account: str,
                    name: str | None, mime_type: str | None, chunks: Iterable[bytes],
                    announced: int | None) -> Artifact:
    """Stream the content into the store, then record it; nothing is kept if either fails."""
    allowance = upload_allowance(session, account, settings, announced)
    artifact_id = new_artifact_id()
    key = storage_key(artifact_id)
    try:
        stored = store.put(key, chunks, allowance)
    except ContentTooLarge:
        _check_size(allowance + 1, settings.max_bytes, allowance)
        raise
    return _record(session, store, Artifact(
        id=artifact_id, name=name, account=account, mime_type=mime_type or DEFAULT_MIME_TYPE,
        status=ArtifactStatus.READY, storage_key=key), stored)


def _record(session: Session, store: Store, artifact: Artifact, stored: Stored) -> Artifact:
    """Record content already stored; if that fails, the content goes too."""
    artifact.size, artifact.sha256 = stored.size, stored.sha256
    session.add(artifact)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        store.delete(artifact.storage_key)
        raise
    return artifact


def visible_artifacts(account: str) -> sa.Select:
    """An artifact is seen by its account alone: the uploader's, or the consumer's of the order
    that produced it."""
    return sa.select(Artifact).where(Artifact.account == account)


def get_artifact(session: Session, account: str, artifact_id: str) -> Artifact:
    artifact = None
    if len(artifact_id) <= ARTIFACT_ID_LENGTH:
        artifact = session.scalars(visible_artifacts(account).where(Artifact.id == artifact_id)).first()
    if artifact is None:
        raise NotFound("no artifact has this id", id=artifact_id)
    return artifact


def artifact_etag_parts(artifact_id: str, revision: int, account: str) -> tuple:
    """What an artifact's ETag is made of (app.conditional)."""
    return ("artifact", artifact_id, revision, account)


_ARTIFACT_REVISION = QuickRead(sa.select(Artifact.revision).where(Artifact.id == sa.bindparam("artifact_id"),
                                                                 Artifact.account == sa.bindparam("account")))


def current_artifact_etag_parts(engine: sa.Engine, account: str, artifact_id: str) -> tuple:
    """Those of the artifact as stored now, after one indexed read of its revision; NotFound as
    get_artifact for one the caller may not see."""
    row = None
    if len(artifact_id) <= ARTIFACT_ID_LENGTH:
        row = _ARTIFACT_REVISION.first(engine, artifact_id=artifact_id, account=account)
    if row is None:
        raise NotFound("no artifact has this id", id=artifact_id)
    return artifact_etag_parts(artifact_id, row[0], account)


def input_of_order(session: Session, order_id: str, artifact_id: str) -> Artifact:
    """An artifact an order's workload may fetch: one of the order's inputs, nothing else."""
    artifact = session.scalars(sa.select(Artifact).join(ArtifactUse, ArtifactUse.artifact_id == Artifact.id)
                               .where(ArtifactUse.order_id == order_id, Artifact.id == artifact_id)).first()
    if artifact is None:
        raise NotFound("no artifact has this id", id=artifact_id)
    return artifact


def readable_content(artifact: Artifact) -> Artifact:
    if artifact.status == ArtifactStatus.EXPIRED:
        raise Gone("the artifact's retention period is over: its content was removed", id=artifact.id)
    if artifact.status != ArtifactStatus.READY:
        raise Conflict("the artifact's upload is not complete: its content cannot be read yet", id=artifact.id,
                       name="status", value=artifact.status)
    return artifact


def delete_artifact(session: Session, store: Store, account: str, artifact_id: str) -> None:
    """The content goes first: a failure in between leaves a record whose content is gone (a
    410 on download, deletable again), never content that no record accounts for."""
    artifact = get_artifact(session, account, artifact_id)
    store.delete(artifact.storage_key)
    session.delete(artifact)
    session.commit()


def order_inputs(session: Session, account: str, artifact_values: dict[str, str]) -> list[ArtifactUse]:
    """The artifacts an order reads, by parameter: each must be the consumer's and ready (422
    naming the parameter otherwise)."""
    uses = []
    for parameter, artifact_id in artifact_values.items():
        artifact = session.scalars(visible_artifacts(account).where(Artifact.id == artifact_id)).first() \
            if len(artifact_id) <= ARTIFACT_ID_LENGTH else None
        if artifact is None:
            raise InvalidParameterValue(f"{parameter}: no artifact of yours has this id", name=parameter,
                                        value=artifact_id)
        if artifact.status != ArtifactStatus.READY:
            raise InvalidParameterValue(f"{parameter}: the artifact is {artifact.status}, not ready",
                                        name=parameter, value=artifact_id)
        uses.append(ArtifactUse(parameter=parameter, artifact_id=artifact_id))
    return uses


def order_products(order_id: str) -> sa.Select:
    return sa.select(Artifact).where(Artifact.order_id == order_id)


def product_count_and_bytes(session: Session, order_id: str) -> tuple[int, int]:
    count, size = session.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Artifact.size), 0))
                                  .where(Artifact.order_id == order_id)).one()
    return count, size


def guess_mime_type(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or DEFAULT_MIME_TYPE


def product_key(order_id: str, name: str) -> str:
    """The same for the same order and name, so a product written again after a crash replaces
    the first copy instead of leaving it behind."""
    digest = hashlib.sha256(order_id.encode() + b"\n" + name.encode())  # no order id holds a newline
    return f"products/{digest.hexdigest()}"


def add_product(session: Session, store: Store, settings: ArtifactSettings, order_id: str, account: str,
                name: str, mime_type: str | None, chunks: Iterable[bytes], max_bytes: int) -> Artifact:
    """Keep a file an order produced as an artifact of the order's consumer (in the session; the
    caller commits). A name registered already is found, not written again."""
    existing = session.scalars(order_products(order_id).where(Artifact.name == name)).first()
    if existing is not None:
        return existing
    key = product_key(order_id, name)
    return _new_product(session, settings, order_id, account, name, mime_type, key,
                        store.put(key, chunks, max_bytes))


def add_stored_product(session: Session, store: Store, settings: ArtifactSettings, order_id: str, account: str,
                       name: str, key: str) -> Artifact:
    """A product the workload's engine wrote to the store itself (an Argo output artifact): it is
    read once for its size and hash."""
    existing = session.scalars(order_products(order_id).where(Artifact.name == name)).first()
    if existing is not None:
        return existing
    digest, size = hashlib.sha256(), 0
    for chunk in store.read(key):
        digest.update(chunk)
        size += len(chunk)
    return _new_product(session, settings, order_id, account, name, None, key, Stored(size, digest.hexdigest()))


def _new_product(session: Session, settings: ArtifactSettings, order_id: str, account: str, name: str,
                 mime_type: str | None, key: str, stored: Stored) -> Artifact:
    expires_at = None
    if settings.product_retention_seconds:
        expires_at = utcnow() + timedelta(seconds=settings.product_retention_seconds)
    artifact = Artifact(id=new_artifact_id(), name=name, account=account, order_id=order_id,
                        mime_type=mime_type or guess_mime_type(name), status=ArtifactStatus.READY,
                        storage_key=key, size=stored.size, sha256=stored.sha256, expires_at=expires_at)
    session.add(artifact)
    session.flush()
    return artifact


def expire_products(session: Session, store: Store, limit: int = 100) -> int:
    """Remove the content of products past their retention period; their records say so."""
    expired = list(session.scalars(sa.select(Artifact).where(
        Artifact.expires_at <= utcnow(), Artifact.status == ArtifactStatus.READY).limit(limit)))
    for artifact in expired:
        store.delete(artifact.storage_key)
        artifact.status = ArtifactStatus.EXPIRED
        session.commit()
    return len(expired)

