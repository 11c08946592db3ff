"""Bearer tokens → the calling account.

A verifier turns a token into an account id (the token's ``sub``). The embedded default signs
and verifies HS256 tokens with the server's secret; production can verify an OIDC issuer's
RS256/ES256 tokens through its JWKS instead. Views never see which one is in use: they ask
``current_account()``.
"""
from __future__ import annotations

import time
from typing import Protocol

import jwt
from flask import current_app, g, request

from app.api_errors import Unauthorized
from app.config import Config

MAX_ACCOUNT_LENGTH = 255
EMBEDDED_ISSUER = "marketplace"
EMBEDDED_AUDIENCE = "marketplace-api"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="marketplace"'}


class InvalidToken(Exception):
    """The token is missing a claim, expired, badly signed or not a JWT at all."""


class TokenVerifier(Protocol):
    def verify(self, token: str) -> str:
        """Return the account the token speaks for, or raise InvalidToken."""


def _subject(claims: dict) -> str:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_ACCOUNT_LENGTH:
        raise InvalidToken("the token's subject (sub) must name an account")
    return subject


class SharedSecretVerifier:
    """HS256 tokens signed with the server's own secret (what ``marketplace token`` prints)."""

    def __init__(self, secret: str):
        self._secret = secret

    def issue(self, account: str, ttl_seconds: int) -> str:
        now = int(time.time())
        claims = {"sub": account, "iss": EMBEDDED_ISSUER, "aud": EMBEDDED_AUDIENCE,
                  "iat": now, "exp": now + ttl_seconds}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> str:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], issuer=EMBEDDED_ISSUER,
                                audience=EMBEDDED_AUDIENCE, options={"require": ["exp", "sub"]})
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        return _subject(claims)


class OidcVerifier:
    """Tokens from an OpenID Connect issuer, checked against the keys it publishes (JWKS)."""

    ALGORITHMS = ["RS256", "ES256"]

    def __init__(self, issuer: str, audience: str, jwks_url: str):
        self._issuer = issuer
        self._audience = audience
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)

    def verify(self, token: str) -> str:
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=self.ALGORITHMS, issuer=self._issuer,
                                audience=self._audience, options={"require": ["exp", "sub"]})
        except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
            raise InvalidToken(str(error)) from error
        return _subject(claims)


def make_verifier(config: Config) -> TokenVerifier:
    if config.oidc is not None:
        return OidcVerifier(config.oidc.issuer, config.oidc.audience, config.oidc.jwks_url)
    return SharedSecretVerifier(config.secret_key)


def authenticate_request() -> None:
    """Before every /1/ request: resolve the bearer token into ``g.account`` or answer 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required: Authorization: Bearer <token>",
                           headers=_CHALLENGE)
    verifier: TokenVerifier = current_app.extensions["token_verifier"]
    try:
        g.account = verifier.verify(token.strip())
    except InvalidToken as error:
        raise Unauthorized(f"the bearer token is not valid: {error}", headers=_CHALLENGE) from None


def current_account() -> str:
    return g.account

