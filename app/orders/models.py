"""Orders as stored: the checked values and a snapshot of the service's workflow at order time,
so that a later update of the service never changes what an existing order runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.artifacts.models import Artifact, ArtifactUse
from app.callback_urls import MAX_URL_LENGTH
from app.db import ID_LENGTH, Base, JSONDocument, Revisioned, TagList, UTCDateTime, utcnow
from app.status import OrderStatus


class Order(Revisioned, Base):
    __tablename__ = "orders"
    __table_args__ = (
        # One order per (account, Idempotency-Key): a retried POST finds the first.
        sa.UniqueConstraint("account", "idempotency_key"),
        sa.Index("ix_orders_account_ordered_at_id", "account", "ordered_at", "id"),
        sa.Index("ix_orders_account_status", "account", "status"),  # how many it has active
        sa.Index("ix_orders_service_id_ordered_at_id", "service_id", "ordered_at", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    account: Mapped[str] = mapped_column(sa.String(255))
    # No foreign key: an order's history outlives the service it was placed for.
    service_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH))
    service_owner: Mapped[str] = mapped_column(sa.String(255), index=True)
    service_version: Mapped[int] = mapped_column(sa.Integer)
    service_incarnation: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), index=True, default=OrderStatus.PENDING)
    status_message: Mapped[str | None] = mapped_column(sa.Text)
    parameters: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument)
    workflow: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    tasks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)  # Argo nodes, as last seen
    callback: Mapped[str | None] = mapped_column(sa.String(MAX_URL_LENGTH))  # POSTed each status change (app.webhooks)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(255))
    request_digest: Mapped[str | None] = mapped_column(sa.String(64))  # of the request, for its key
    # Set by the API; the worker, which owns the backend, stops the workload.
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tag_rows: Mapped[list[OrderTag]] = relationship(
        order_by="OrderTag.position", cascade="all, delete-orphan", lazy="selectin")
    # Lineage both ways: what the order read, and what it produced.
    inputs: Mapped[list[ArtifactUse]] = relationship(order_by=ArtifactUse.parameter, cascade="all, delete-orphan",
                                                     lazy="selectin")
    products: Mapped[list[Artifact]] = relationship(
        primaryjoin=lambda: sa.orm.foreign(Artifact.order_id) == Order.id, order_by=Artifact.name,
        viewonly=True, lazy="selectin")
    tags = TagList()


class OrderTag(Base):
    __tablename__ = "order_tags"

    order_id: Mapped[str] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(128), index=True)


class OrderLogLine(Base):
    """Kept by the platform, so logs outlive the process, pod or Workflow that wrote them."""

    __tablename__ = "order_logs"

    order_id: Mapped[str] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    task: Mapped[str] = mapped_column(sa.String(255))
    message: Mapped[str] = mapped_column(sa.Text)


class OrderEvent(Base):
    """What happened to an order, appended in the transaction that made it happen; read by the
    event streams. `id` orders all events: ids are given at commit (app.orders.events), so a
    reader that has seen an id has seen every smaller one."""

    __tablename__ = "order_events"
    # SQLite: AUTOINCREMENT, so an id is never given twice even after the newest row is deleted.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    # No foreign key: inserting an event then takes no lock on the order's row (app.orders.events).
    order_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
