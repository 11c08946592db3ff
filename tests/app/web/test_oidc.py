"""Signing in to the pages through an OIDC issuer: the authorization-code flow with PKCE, against
an issuer on 127.0.0.1 that checks the code verifier as a real one does."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.config import DEFAULT_OIDC_AUDIENCE, OidcSettings

CLIENT_ID = "marketplace-web"


class Issuer:
    """Discovery, keys and a token endpoint; the authorization endpoint is the test itself, which
    plays the person signing in: it reads the request and comes back with a code."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
        self.codes: dict[str, dict] = {}  # code -> the challenge and the account it signs in
        self.audience = DEFAULT_OIDC_AUDIENCE
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status, document):
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    self._answer(200, {"issuer": issuer.url, "jwks_uri": issuer.url + "/keys",
                                       "authorization_endpoint": issuer.url + "/authorize",
                                       "token_endpoint": issuer.url + "/token"})
                elif self.path == "/keys":
                    self._answer(200, json.loads(jwks))
                else:
                    self._answer(404, {})

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                grant = issuer.codes.pop(form.get("code", [""])[0], None)
                verifier = form.get("code_verifier", [""])[0]
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if grant is None or grant["challenge"] != challenge or form.get("client_id") != [CLIENT_ID]:
                    self._answer(400, {"error": "invalid_grant"})
                    return
                self._answer(200, {"access_token": issuer.sign(sub=grant["account"], aud=issuer.audience),
                                   "token_type": "Bearer", "expires_in": 60})

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def sign(self, **claims) -> str:
        claims = {"iss": self.url, "exp": int(time.time()) + 60, **claims}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def authorize(self, url: str, account: str) -> tuple[str, str]:
        """The person signs in at the issuer: (the code, the state) to come back with."""
        query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
        assert url.startswith(self.url + "/authorize?")
        assert (query["response_type"], query["client_id"], query["code_challenge_method"]) == (
            "code", CLIENT_ID, "S256")
        code = f"code-{len(self.codes)}"
        self.codes[code] = {"challenge": query["code_challenge"], "account": account}
        return code, query["state"]


@pytest.fixture
def issuer():
    issuer = Issuer()
    thread = threading.Thread(target=issuer.server.serve_forever, daemon=True)
    thread.start()
    yield issuer
    issuer.server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def oidc_app(config, issuer):
    from app import create_app

    app = create_app(dataclasses.replace(config, production=True,
                                         oidc=OidcSettings(issuer.url, client_id=CLIENT_ID)))
    yield app
    app.extensions["database"].dispose()


def start(client, next_path="/orders"):
    response = client.get("/sign-in/oidc", query_string={"next": next_path})
    assert response.status_code == 303
    return response.headers["Location"]


def test_a_person_signs_in_through_the_issuer_with_pkce(oidc_app, issuer):
    client = oidc_app.test_client()
    assert "Sign in with your identity provider" in client.get("/sign-in").get_data(as_text=True)
    code, state = issuer.authorize(start(client), "carol")
    back = client.get("/sign-in/oidc/callback", query_string={"code": code, "state": state})
    assert (back.status_code, back.headers["Location"]) == (303, "/orders")
    assert "Secure" in back.headers["Set-Cookie"] and "HttpOnly" in back.headers["Set-Cookie"]
    assert "Signed in as <strong>carol</strong>" in client.get("/orders").get_data(as_text=True)
    # The state is used once: coming back again with it is refused.
    again = client.get("/sign-in/oidc/callback", query_string={"code": code, "state": state})
    assert again.status_code == 400 and "sign in again" in again.get_data(as_text=True)


def test_a_wrong_state_or_verifier_signs_nobody_in(oidc_app, issuer):
    client = oidc_app.test_client()
    code, _state = issuer.authorize(start(client), "carol")
    assert client.get("/sign-in/oidc/callback", query_string={"code": code, "state": "forged"}).status_code == 400
    # Another browser (no verifier of this sign-in) cannot use the code either.
    other = oidc_app.test_client()
    _other_code, other_state = issuer.authorize(start(other), "mallory")
    response = other.get("/sign-in/oidc/callback", query_string={"code": code, "state": other_state})
    assert response.status_code == 503 and "did not give a token" in response.get_data(as_text=True)
    for person in (client, other):
        assert person.get("/orders").status_code == 302


def test_a_token_for_another_audience_and_an_open_redirect_are_refused(oidc_app, issuer):
    client = oidc_app.test_client()
    issuer.audience = "another-application"
    code, state = issuer.authorize(start(client), "carol")
    response = client.get("/sign-in/oidc/callback", query_string={"code": code, "state": state})
    assert response.status_code == 400 and "not one for this marketplace" in response.get_data(as_text=True)
    issuer.audience = DEFAULT_OIDC_AUDIENCE
    code, state = issuer.authorize(start(client, "//evil.example/"), "carol")
    back = client.get("/sign-in/oidc/callback", query_string={"code": code, "state": state})
    assert back.headers["Location"] == "/"


def test_the_issuers_refusal_is_said(oidc_app, issuer):
    client = oidc_app.test_client()
    _code, state = issuer.authorize(start(client), "carol")
    response = client.get("/sign-in/oidc/callback", query_string={
        "state": state, "error": "access_denied", "error_description": "<b>no</b>"})
    assert response.status_code == 400
    assert "access_denied &lt;b&gt;no&lt;/b&gt;" in response.get_data(as_text=True)


def test_without_a_client_id_there_is_no_issuer_sign_in(app):
    assert app.test_client().get("/sign-in/oidc").status_code == 404
