"""Short-lived tokens for an order's own workload: its helper containers download the order's
input artifacts and upload its products through the API with one, and it grants nothing else
(no account's resources), so a workload never holds storage credentials or an account's token."""
from __future__ import annotations

import time

import jwt

ISSUER = "marketplace"
AUDIENCE = "marketplace-workload"
MARGIN_SECONDS = 15 * 60  # past the workload's deadline: its products are uploaded as it ends


def issue_workload_token(secret: str, order_id: str, deadline_seconds: int) -> str:
    now = int(time.time())
    claims = {"sub": order_id, "iss": ISSUER, "aud": AUDIENCE, "iat": now,
              "exp": now + deadline_seconds + MARGIN_SECONDS}
    return jwt.encode(claims, secret, algorithm="HS256")


def workload_order(secret: str, token: str) -> str | None:
    """The order a workload token speaks for; None when it is not a valid workload token."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER, audience=AUDIENCE,
                            options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    subject = claims["sub"]
    return subject if isinstance(subject, str) and subject else None
