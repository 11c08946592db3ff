"""Artifacts as stored: the record of one piece of content in the store, uploaded by an account or
produced by an order, and the record of which orders read which artifacts (lineage)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Revisioned, UTCDateTime, utcnow
from app.status import ArtifactStatus

ARTIFACT_ID_LENGTH = 64  # urn:marketplace:artifact:<uuid>
NAME_LENGTH = 1024       # a product's name is its path in the order's outputs folder


class Artifact(Revisioned, Base):
    __tablename__ = "artifacts"
    REVISES = ("orders", "order_id")  # a product is shown in its order's JSON (app.db.Revisioned)
    __table_args__ = (
        sa.Index("ix_artifacts_account_created_at_id", "account", "created_at", "id"),
        # An order's products have distinct names: registering one again finds the first.
        sa.UniqueConstraint("order_id", "name"),
    )

    id: Mapped[str] = mapped_column(sa.String(ARTIFACT_ID_LENGTH), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(NAME_LENGTH))
    account: Mapped[str] = mapped_column(sa.String(255))
    mime_type: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), index=True, default=ArtifactStatus.READY)
    storage_key: Mapped[str] = mapped_column(sa.String(1024))
    upload_length: Mapped[int | None] = mapped_column(sa.BigInteger)  # a resumable upload's announced size
    # The order that produced it (no foreign key: a product outlives its order's record).
    order_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class ArtifactUse(Base):
    """An order read this artifact through this parameter."""

    __tablename__ = "artifact_uses"

    order_id: Mapped[str] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    parameter: Mapped[str] = mapped_column(sa.String(63), primary_key=True)
    artifact_id: Mapped[str] = mapped_column(sa.String(ARTIFACT_ID_LENGTH), index=True)
