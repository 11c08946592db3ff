"""Signing in to the pages through the configured OIDC issuer: the authorization-code flow with
PKCE (S256), by Authlib's client. The issuer's access token is then checked by the API's own
verifier (app.auth.OidcVerifier: the issuer's keys, this API's audience), so a person is the
account that the same token would be at the API."""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from app.config import OidcSettings

TIMEOUT_SECONDS = 5
MAX_DISCOVERY_BYTES = 1024 * 1024
DISCOVERY_PATH = "/.well-known/openid-configuration"


class SignInUnavailable(Exception):
    """The issuer cannot be asked now, or answered what a sign-in cannot use."""


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str


class OidcSignIn:
    """The issuer's endpoints, read once from its discovery document, and the two steps of a sign-in."""

    def __init__(self, settings: OidcSettings):
        self._settings = settings
        self._endpoints: Endpoints | None = None
        self._lock = threading.Lock()

    def _discover(self) -> Endpoints:
        with self._lock:
            if self._endpoints is None:
                url = self._settings.issuer.rstrip("/") + DISCOVERY_PATH
                try:
                    response = httpx.get(url, timeout=TIMEOUT_SECONDS)
                    response.raise_for_status()
                    if len(response.content) > MAX_DISCOVERY_BYTES:
                        raise ValueError("the discovery document is too large")
                    document = response.json()
                except (httpx.HTTPError, ValueError) as error:
                    raise SignInUnavailable(f"the OIDC discovery document {url} cannot be read: {error}") from None
                fields = [document.get(key) if isinstance(document, dict) else None
                          for key in ("issuer", "authorization_endpoint", "token_endpoint")]
                if not all(isinstance(value, str) and value for value in fields) \
                        or fields[0].rstrip("/") != self._settings.issuer.rstrip("/"):
                    raise SignInUnavailable(f"the OIDC discovery document {url} does not name this issuer and "
                                            "its authorization and token endpoints")
                self._endpoints = Endpoints(fields[1], fields[2])
            return self._endpoints

    def _client(self, redirect_uri: str) -> OAuth2Client:
        settings = self._settings
        return OAuth2Client(settings.client_id, settings.client_secret, scope=settings.scope,
                            redirect_uri=redirect_uri, code_challenge_method="S256", timeout=TIMEOUT_SECONDS,
                            token_endpoint_auth_method="client_secret_basic" if settings.client_secret else "none")

    def start(self, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """The issuer's URL to send the person to, and what to keep until they come back."""
        verifier = generate_token(64)
        state = secrets.token_urlsafe(24)
        with self._client(redirect_uri) as client:
            url, _state = client.create_authorization_url(self._discover().authorization, state=state,
                                                          code_verifier=verifier, nonce=secrets.token_urlsafe(16))
        return url, {"state": state, "verifier": verifier}

    def finish(self, redirect_uri: str, code: str, kept: dict[str, Any]) -> str:
        """The access token the issuer gives for this code (and the verifier kept at the start)."""
        with self._client(redirect_uri) as client:
            try:
                token = client.fetch_token(self._discover().token, grant_type="authorization_code", code=code,
                                           code_verifier=kept["verifier"])
            except Exception as error:  # httpx's and Authlib's OAuth errors alike: the issuer said no
                raise SignInUnavailable(f"the issuer did not give a token for this sign-in: {error}") from None
        access_token = token.get("access_token") if isinstance(token, dict) else None
        if not isinstance(access_token, str) or not access_token:
            raise SignInUnavailable("the issuer's answer holds no access token")
        return access_token
