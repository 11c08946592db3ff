"""Webhooks as stored: an account's default callbacks, its signing secret, and each delivery of an
order's status change to one callback, with its attempts."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.callback_urls import MAX_URL_LENGTH
from app.db import ID_LENGTH, Base, UTCDateTime, utcnow


class WebhookEndpoint(Base):
    """A callback that receives the status changes of every order of its account."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index("ix_webhook_endpoints_account_created_at_id", "account", "created_at", "id"),)

    id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    account: Mapped[str] = mapped_column(sa.String(255))
    url: Mapped[str] = mapped_column(sa.String(MAX_URL_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookSecret(Base):
    """An account's signing secret, encrypted with the server's secret key (app.webhooks.secrets);
    the one before a rotation signs too, for a while, so receivers can switch without losing any."""

    __tablename__ = "webhook_secrets"

    account: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    secret: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    previous: Mapped[str | None] = mapped_column(sa.Text)
    previous_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One status change of an order, for one callback: written with the change, sent at least once
    (every attempt with the same webhook-id, its id), until it succeeds or its time runs out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_order_id_created_at_id", "order_id", "created_at", "id"),
        sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # the webhook-id header
    order_id: Mapped[str] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(sa.String(255))
    url: Mapped[str] = mapped_column(sa.String(MAX_URL_LENGTH))
    event_type: Mapped[str] = mapped_column(sa.String(32))  # order.<status>
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Due when past; a claimed delivery's is pushed past its attempt (a lease: a crashed
    # dispatcher's delivery is due again when it runs out).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set at the first claim
    claims: Mapped[int] = mapped_column(sa.Integer, default=0)
    payload: Mapped[str | None] = mapped_column(sa.Text)  # rendered at the first attempt, sent as is after
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempts: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.number",
                                                          cascade="all, delete-orphan", lazy="selectin")


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[str] = mapped_column(sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
                                             primary_key=True)
    number: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(sa.Integer)
    outcome: Mapped[str] = mapped_column(sa.String(16))
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.Text)
