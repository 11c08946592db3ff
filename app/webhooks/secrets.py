"""Each account's signing secret, in the `whsec_` form of Standard Webhooks.

It is a shared secret: the platform must be able to use it, so it cannot be kept as a hash. It is
kept encrypted (AES-GCM, with a key derived from the server's secret key, the account as
associated data): a leak of the database alone does not give out the secrets, nor can a row be
copied to another account. Whoever holds both the database and the server's key can sign as the
platform; accounts rotate their secret when in doubt (the previous one keeps signing a day)."""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from app.webhooks.models import WebhookSecret

log = logging.getLogger(__name__)
PREFIX = "whsec_"
SECRET_BYTES = 32
PREVIOUS_SECRET_SECONDS = 24 * 3600  # the secret before a rotation signs alongside the new one this long
_FORMAT = "v1:"


@dataclass(frozen=True)
class AccountSecret:
    secret: str
    created_at: datetime
    previous_until: datetime | None = None


def _key(server_key: str) -> bytes:
    return hashlib.sha256(b"marketplace webhook secrets\0" + server_key.encode()).digest()


def seal(server_key: str, account: str, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(server_key)).encrypt(nonce, secret.encode(), account.encode())
    return _FORMAT + base64.b64encode(nonce + sealed).decode()


def unseal(server_key: str, account: str, stored: str) -> str | None:
    """The secret, or None if it was sealed with another server key (or for another account)."""
    if not stored.startswith(_FORMAT):
        return None
    try:
        raw = base64.b64decode(stored[len(_FORMAT):])
        return AESGCM(_key(server_key)).decrypt(raw[:12], raw[12:], account.encode()).decode()
    except (InvalidTag, ValueError):
        return None


def new_secret() -> str:
    return PREFIX + base64.b64encode(random_secrets.token_bytes(SECRET_BYTES)).decode()


def _current(session: Session, account: str, server_key: str) -> tuple[WebhookSecret | None, str | None]:
    row = session.get(WebhookSecret, account)
    if row is None:
        return None, None
    secret = unseal(server_key, account, row.secret)
    if secret is None:
        log.warning("the webhook secret of account %s was sealed with another server key: making a new one",
                    account)
    return row, secret


def account_secret(session: Session, account: str, server_key: str) -> AccountSecret:
    """The account's secret, made (and committed) on first need."""
    row, secret = _current(session, account, server_key)
    if secret is None:
        secret = new_secret()
        if row is None:
            row = WebhookSecret(account=account, secret=seal(server_key, account, secret), created_at=utcnow())
            session.add(row)
        else:
            row.secret, row.created_at = seal(server_key, account, secret), utcnow()
            row.previous, row.previous_until = None, None
        try:
            session.commit()
        except IntegrityError:  # made at the same moment by another request or the dispatcher: theirs stays
            session.rollback()
            row, secret = _current(session, account, server_key)
            assert row is not None and secret is not None
    return AccountSecret(secret, row.created_at, _still_valid(row.previous_until))


def _still_valid(until: datetime | None) -> datetime | None:
    return until if until is not None and until > utcnow() else None


def rotate(session: Session, account: str, server_key: str) -> AccountSecret:
    """A new secret; the one it replaces keeps signing alongside for PREVIOUS_SECRET_SECONDS."""
    account_secret(session, account, server_key)
    row = session.get(WebhookSecret, account, with_for_update=True)
    secret = new_secret()
    row.previous, row.previous_until = row.secret, utcnow() + timedelta(seconds=PREVIOUS_SECRET_SECONDS)
    row.secret, row.created_at = seal(server_key, account, secret), utcnow()
    session.commit()
    return AccountSecret(secret, row.created_at, row.previous_until)


def signing_secrets(session: Session, account: str, server_key: str) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous one while it lasts."""
    current = account_secret(session, account, server_key).secret
    row = session.get(WebhookSecret, account)
    previous = unseal(server_key, account, row.previous) if row.previous and _still_valid(row.previous_until) else None
    return [current] + ([previous] if previous else [])
