"""Services as stored. Fields that lists filter and sort on are real, indexed columns; the
parts read only as a whole (parameters, workflow, references) are JSON documents."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import ID_LENGTH, Base, JSONDocument, Revisioned, TagList, UTCDateTime, utcnow
from app.status import ServiceStatus


class Service(Revisioned, Base):
    __tablename__ = "services"
    __table_args__ = (
        # Composite indexes serve ORDER BY <column>, id with keyset paging.
        sa.Index("ix_services_name_id", "name", "id"),
        sa.Index("ix_services_created_at_id", "created_at", "id"),
        sa.Index("ix_services_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(255), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    description: Mapped[str] = mapped_column(sa.Text)
    provider_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    banner: Mapped[str | None] = mapped_column(sa.String(2048))
    status: Mapped[str] = mapped_column(sa.String(16), index=True, default=ServiceStatus.PENDING)
    status_message: Mapped[str | None] = mapped_column(sa.Text)
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    workflow: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    references: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    # New each time the id is published (again): orders belong to the incarnation they were
    # placed for, so a deleted and re-published id never shows the earlier orders.
    incarnation: Mapped[str] = mapped_column(sa.String(32), default=lambda: uuid.uuid4().hex)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tag_rows: Mapped[list[ServiceTag]] = relationship(
        order_by="ServiceTag.position", cascade="all, delete-orphan", lazy="selectin")
    metadata_rows: Mapped[list[ServiceMetadata]] = relationship(
        order_by="ServiceMetadata.position", cascade="all, delete-orphan", lazy="selectin")
    tags = TagList()

    @property
    def metadata_entries(self) -> list[dict[str, str]]:
        return [{"name": row.name, "value": row.value} for row in self.metadata_rows]

    @metadata_entries.setter
    def metadata_entries(self, entries: list[dict[str, str]]) -> None:
        self.metadata_rows = [ServiceMetadata(position=i, name=entry["name"], value=entry["value"])
                              for i, entry in enumerate(entries)]


class _OrderedChildOfService:
    """A row in a service's ordered list (tags, metadata): keyed by service and position."""

    service_id: Mapped[str] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)


class ServiceTag(_OrderedChildOfService, Base):
    __tablename__ = "service_tags"

    tag: Mapped[str] = mapped_column(sa.String(128), index=True)


class ServiceMetadata(Base):
    __tablename__ = "service_metadata"
    service_id: Mapped[str] = mapped_column(
        sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), index=True)
    value: Mapped[str] = mapped_column(sa.String(1024))
