"""Who is signed in to the pages: the account kept in Flask's signed session cookie, and the
rules for getting there (where the token-paste sign-in is allowed; where `next=` may lead)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, session, url_for

MAX_NEXT_CHARS = 2000


def embedded_sign_in_allowed() -> bool:
    """Pasting a token from `marketplace token` is for the embedded default; production refuses it."""
    return not current_app.config["MARKETPLACE"].production


def signed_in_account() -> str | None:
    account = session.get("account")
    return account if isinstance(account, str) and account else None


def sign_in(account: str) -> None:
    # A new session, not the one before sign-in (nothing of an earlier visitor's carries over).
    session.clear()
    session["account"] = account
    session.permanent = True  # expires after MARKETPLACE_TOKEN_TTL_SECONDS, as a token would


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site, never another site (no open redirect)."""
    home = url_for("web.catalogue")
    if not target or len(target) > MAX_NEXT_CHARS or not target.startswith("/") or target.startswith(("//", "/\\")):
        return home
    if any(ord(char) < 0x20 or char == "\\" for char in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target
