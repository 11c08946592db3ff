"""The webhook dispatcher: beside the reconcile loop, never in it, so a slow or dead receiver
never slows an order. One thread claims due deliveries (as many as there are free senders) and
hands each to a bounded pool of senders; each renders the body once (kept for its retries),
signs it with the account's secret(s) and posts it (app.webhooks.sender), then records the
attempt and when to try again (app.webhooks.deliveries)."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from flask import Flask
from standardwebhooks import Webhook

from app.callback_urls import Resolver
from app.config import Config
from app.db import Database, utcnow
from app.orders.models import Order
from app.status import AttemptOutcome, DeliveryStatus
from app.webhooks import deliveries, payload, sender
from app.webhooks.deliveries import Outcome
from app.webhooks.models import WebhookDelivery
from app.webhooks.secrets import signing_secrets
from app.worker.health import WorkerMetrics

log = logging.getLogger(__name__)
LEASE_MARGIN_SECONDS = 60  # beyond the timeouts: rendering and recording
USER_AGENT = "marketplace-webhooks/1"


def sign(secrets: list[str], delivery_id: str, body: str, when: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers: one v1 signature per secret, space-separated."""
    when = when or datetime.now(UTC)
    signatures = " ".join(Webhook(secret).sign(delivery_id, when, body) for secret in secrets)
    return {"webhook-id": delivery_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json", "user-agent": USER_AGENT}


class Dispatcher:
    def __init__(self, database: Database, config: Config, app: Flask | None = None,
                 resolve: Resolver | None = None, metrics: WorkerMetrics | None = None):
        self._database = database
        self._config = config
        self._settings = config.webhooks
        self._app = app
        self._app_lock = threading.Lock()
        self._resolve = resolve
        self._metrics = metrics
        self._in_flight = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self._settings.concurrency, thread_name_prefix="webhook")

    @property
    def lease_seconds(self) -> float:
        return self._settings.connect_timeout_seconds + self._settings.read_timeout_seconds + LEASE_MARGIN_SECONDS

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="webhook-dispatcher", daemon=True)
        thread.start()
        return thread

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    claimed = self.dispatch_due()
                except Exception:  # logged and retried: the dispatcher must not die
                    log.exception("webhook dispatch failed")
                    claimed = 0
                if not claimed:
                    stop.wait(self._settings.poll_seconds)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def dispatch_due(self) -> int:
        """Claim what is due, up to the free senders, and start sending it; returns how many."""
        with self._lock:
            free = self._settings.concurrency - self._in_flight
        if free <= 0:
            return 0
        session = self._database.sessions()
        try:
            claimed = deliveries.claim_due(session, free, self.lease_seconds, self._settings.retry_seconds)
        finally:
            session.close()
        for delivery_id in claimed:
            with self._lock:
                self._in_flight += 1
            self._pool.submit(self._deliver, delivery_id)
        return len(claimed)

    def deliver(self, delivery_id: str) -> WebhookDelivery | None:
        """One attempt at a claimed delivery (no database connection is held while it is sent)."""
        session = self._database.sessions()
        try:
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.PENDING:
                return delivery
            if delivery.payload is None:
                delivery.payload = self._render(session, delivery)
                session.commit()
            secrets = signing_secrets(session, delivery.account, self._config.secret_key)
            body, url = delivery.payload, delivery.url
            session.close()
            outcome = sender.post(url, body.encode(), sign(secrets, delivery_id, body), self._settings,
                                  self._resolve)
            if self._metrics is not None:
                self._metrics.webhook_attempts.labels(str(outcome.outcome)).inc()
            done = deliveries.record_attempt(session, delivery_id, outcome, self._settings.first_retry_seconds,
                                             self._settings.max_retry_interval_seconds)
            level = logging.INFO if outcome.outcome == AttemptOutcome.SUCCEEDED else logging.WARNING
            log.log(level, "webhook %s to %s: %s%s", delivery_id, url, outcome.outcome,
                    f" ({outcome.error})" if outcome.error else "", extra={"order_id": done and done.order_id})
            return done
        finally:
            session.close()

    def _deliver(self, delivery_id: str) -> None:
        try:
            self.deliver(delivery_id)
        except Exception as error:
            log.exception("webhook %s could not be attempted", delivery_id)
            self._record_failure(delivery_id, error)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _record_failure(self, delivery_id: str, error: Exception) -> None:
        """An attempt that failed on our side counts as one (else the lease runs out and it is tried again)."""
        session = self._database.sessions()
        try:
            deliveries.record_attempt(session, delivery_id, Outcome(
                AttemptOutcome.FAILED, utcnow(), 0, error=f"the platform could not send it: {type(error).__name__}"),
                self._settings.first_retry_seconds, self._settings.max_retry_interval_seconds)
        except Exception:
            log.exception("webhook %s: its failed attempt could not be recorded", delivery_id)
        finally:
            session.close()

    def _render(self, session, delivery: WebhookDelivery) -> str:
        app = self._flask_app()
        order = session.get(Order, delivery.order_id)
        with app.test_request_context(base_url=self._settings.public_url):
            return payload.render(order, delivery.event_type, delivery.created_at, self._settings.max_payload_bytes)

    def _flask_app(self) -> Flask:
        """The API's application, for its routes (the links of the body); made on first need."""
        with self._app_lock:
            if self._app is None:
                from app.factory import create_app
                self._app = create_app(self._config)
            return self._app
