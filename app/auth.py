"""Bearer tokens → the calling account.

A verifier turns a token into an account id (the token's ``sub``). The embedded default signs
and verifies HS256 tokens with the server's secret; production can verify an OIDC issuer's
RS256/ES256 tokens through its JWKS instead, found from the issuer URL alone. Views never see
which one is in use: they ask ``current_account()``.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from typing import Protocol

import cachetools
import jwt
from flask import current_app, g, request

from app.api_errors import ApiError, Forbidden, Unauthorized
from app.config import Config
from app.workload_tokens import workload_order

log = logging.getLogger(__name__)

MAX_ACCOUNT_LENGTH = 255
EMBEDDED_ISSUER = "marketplace"
EMBEDDED_AUDIENCE = "marketplace-api"
ISSUER_RETRY_AFTER_SECONDS = 5
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


class IssuerUnavailable(Exception):
    """The OIDC issuer's discovery document or keys cannot be fetched now: no verdict on the token."""


class OidcVerifier:
    """Tokens from an OpenID Connect issuer, checked against the keys it publishes (JWKS).

    The issuer URL is enough: its discovery document names the keys' URL and the issuer that
    tokens carry. It is fetched at the first token, not at start (the issuer may be down while
    the API starts), and kept; PyJWT's PyJWKClient keeps the keys and fetches them again for a
    key id it has not seen (a rotation). `jwks_url`, when given, skips discovery."""

    ALGORITHMS = ["RS256", "ES256"]
    DISCOVERY_PATH = "/.well-known/openid-configuration"
    MAX_DISCOVERY_BYTES = 1024 * 1024
    TIMEOUT_SECONDS = 5

    def __init__(self, issuer: str, audience: str, jwks_url: str | None = None):
        self._issuer = issuer
        self._audience = audience
        self._jwks_url = jwks_url
        self._keys: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()  # one discovery, however many requests arrive at once

    def _discover(self) -> tuple[str, str]:
        """(the issuer tokens carry, the JWKS URL), from the issuer's discovery document."""
        url = self._issuer.rstrip("/") + self.DISCOVERY_PATH
        try:
            with urllib.request.urlopen(url, timeout=self.TIMEOUT_SECONDS) as response:
                document = json.loads(response.read(self.MAX_DISCOVERY_BYTES + 1)[:self.MAX_DISCOVERY_BYTES])
        except (OSError, ValueError) as error:  # unreachable, an HTTP error status, or not JSON
            raise IssuerUnavailable(f"the OIDC discovery document {url} cannot be read: {error}") from error
        issuer, jwks_url = (document.get("issuer"), document.get("jwks_uri")) if isinstance(document, dict) \
            else (None, None)
        # OpenID Connect Discovery 1.0, 4.3: the document speaks for the issuer it was asked of.
        if not isinstance(issuer, str) or issuer.rstrip("/") != self._issuer.rstrip("/") \
                or not isinstance(jwks_url, str) or not jwks_url:
            raise IssuerUnavailable(f"the OIDC discovery document {url} does not name this issuer and a jwks_uri")
        return issuer, jwks_url

    def _signing_keys(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._keys is None:
                if self._jwks_url is None:
                    self._issuer, self._jwks_url = self._discover()
                self._keys = jwt.PyJWKClient(self._jwks_url, cache_keys=True, lifespan=300,
                                             timeout=self.TIMEOUT_SECONDS)
            return self._keys

    def verify(self, token: str) -> str:
        keys = self._signing_keys()
        try:
            key = keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as error:
            raise IssuerUnavailable(f"the issuer's keys cannot be fetched: {error}") from error
        except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
            raise InvalidToken(str(error)) from error
        try:
            claims = jwt.decode(token, key.key, algorithms=self.ALGORITHMS, issuer=self._issuer,
                                audience=self._audience, options={"require": ["exp", "sub"]})
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        return _subject(claims)


def make_verifier(config: Config) -> TokenVerifier:
    if config.oidc is not None:
        return OidcVerifier(config.oidc.issuer, config.oidc.audience, config.oidc.jwks_url)
    return SharedSecretVerifier(config.secret_key)


class VerifiedTokens:
    """Tokens already verified, with whom they speak for, until they expire (at most
    MAX_TRUST_SECONDS, so that a key the issuer withdraws stops being trusted soon): a
    signature is checked once per token, not on every request. Only valid tokens are kept, in
    a bounded cache, so a flood of bad ones costs no memory."""

    MAX_ENTRIES = 10_000
    MAX_TRUST_SECONDS = 300

    def __init__(self, secret: str, verifier: TokenVerifier, clock=time.time):
        self._secret, self._verifier = secret, verifier
        self._cache = cachetools.TLRUCache(self.MAX_ENTRIES, ttu=lambda _token, identity, _now: identity[2],
                                           timer=clock)
        self._clock = clock
        self._lock = threading.Lock()

    def identity(self, token: str) -> tuple[str | None, str | None, float]:
        """(account, workload order, trusted until): exactly one of the first two is set. Raises
        InvalidToken or IssuerUnavailable as the verifier does."""
        with self._lock:
            known = self._cache.get(token)
        if known is not None:
            return known
        order_id = workload_order(self._secret, token)
        account = None if order_id is not None else self._verifier.verify(token)
        expires = jwt.decode(token, options={"verify_signature": False}).get("exp")  # verified just now
        identity = (account, order_id, min(float(expires), self._clock() + self.MAX_TRUST_SECONDS))
        with self._lock:
            self._cache[token] = identity
        return identity


def authenticate_request() -> None:
    """Before every /1/ request: resolve the bearer token into ``g.account`` or answer 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required: Authorization: Bearer <token>",
                           headers=_CHALLENGE)
    tokens: VerifiedTokens = current_app.extensions["verified_tokens"]
    try:
        # A workload's token speaks for its order only, never for an account (g.account None).
        g.account, g.workload_order, _ = tokens.identity(token.strip())
    except InvalidToken as error:
        raise Unauthorized(f"the bearer token is not valid: {error}", headers=_CHALLENGE) from None
    except IssuerUnavailable as error:
        # Not the caller's fault, and likely over soon: 503, as for the database.
        log.warning("%s", error)
        raise ApiError("the token issuer cannot be asked for its keys now; retry later", status_code=503,
                       headers={"Retry-After": str(ISSUER_RETRY_AFTER_SECONDS)}) from None


def current_account() -> str:
    if g.account is None:
        raise Forbidden("an order's workload token may only fetch the order's inputs and upload its products")
    return g.account


def current_workload_order() -> str | None:
    """The order whose workload calls, when the token is a workload token."""
    return g.get("workload_order")
