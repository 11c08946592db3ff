"""Token verification (embedded HS256 and an OIDC issuer's JWKS), configuration and the CLI."""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa

from app import create_app
from app.auth import (
    ISSUER_RETRY_AFTER_SECONDS,
    InvalidToken,
    IssuerUnavailable,
    OidcVerifier,
    SharedSecretVerifier,
    make_verifier,
)
from app.cli import main
from app.config import DEFAULT_OIDC_AUDIENCE, Config, ConfigError, OidcSettings


class LocalIssuer:
    """An OIDC issuer on 127.0.0.1: a discovery document and the public half of an RSA key as a
    JWKS, each path it is asked for recorded. `discovery` and `discovery_status` may be changed."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
        self.requests: list[str] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                issuer.requests.append(self.path)
                if self.path == "/realms/test/.well-known/openid-configuration":
                    status, body = issuer.discovery_status, json.dumps(issuer.discovery).encode()
                elif self.path == "/realms/test/keys":
                    status, body = 200, jwks
                else:
                    status, body = 404, b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)  # listening from here on: no wait needed
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base}/realms/test"
        self.jwks_url = f"{self.url}/keys"
        self.discovery = {"issuer": self.url, "jwks_uri": self.jwks_url, "response_types_supported": ["code"]}
        self.discovery_status = 200

    def sign(self, **claims) -> str:
        claims = {"iss": self.url, "aud": DEFAULT_OIDC_AUDIENCE, "exp": int(time.time()) + 60, **claims}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def oidc_issuer():
    issuer = LocalIssuer()
    thread = threading.Thread(target=issuer.server.serve_forever, daemon=True)
    thread.start()
    yield issuer
    issuer.server.shutdown()
    thread.join(timeout=10)


def test_the_issuer_url_alone_is_enough_and_its_discovery_is_fetched_once_at_the_first_token(oidc_issuer):
    config = Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_OIDC_ISSUER": oidc_issuer.url})
    assert config.oidc == OidcSettings(oidc_issuer.url, DEFAULT_OIDC_AUDIENCE, None)
    verifier = make_verifier(config)
    assert oidc_issuer.requests == []  # lazily: the issuer may be down while the API starts
    assert [verifier.verify(oidc_issuer.sign(sub=name)) for name in ("carol", "dave", "carol")] == [
        "carol", "dave", "carol"]
    assert oidc_issuer.requests == ["/realms/test/.well-known/openid-configuration", "/realms/test/keys"]


def test_oidc_tokens_must_be_the_issuers_for_this_audience(oidc_issuer):
    verifier = OidcVerifier(oidc_issuer.url, DEFAULT_OIDC_AUDIENCE)
    assert verifier.verify(oidc_issuer.sign(sub="carol")) == "carol"
    for token in (oidc_issuer.sign(sub="carol", aud="someone-else"), oidc_issuer.sign(sub="carol", iss="https://evil.test"),
                  oidc_issuer.sign(aud=DEFAULT_OIDC_AUDIENCE), SharedSecretVerifier("x" * 40).issue("carol", 60)):
        with pytest.raises(InvalidToken):
            verifier.verify(token)


def test_the_audience_and_the_keys_url_are_optional_overrides(oidc_issuer):
    config = Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_OIDC_ISSUER": oidc_issuer.url,
                              "MARKETPLACE_OIDC_AUDIENCE": "marketplace",
                              "MARKETPLACE_OIDC_JWKS_URL": oidc_issuer.jwks_url})
    verifier = make_verifier(config)
    assert verifier.verify(oidc_issuer.sign(sub="carol", aud="marketplace")) == "carol"
    with pytest.raises(InvalidToken):
        verifier.verify(oidc_issuer.sign(sub="carol"))
    assert oidc_issuer.requests == ["/realms/test/keys"]  # no discovery: the keys' URL was given


@pytest.mark.parametrize("discovery, status", [
    ({"issuer": "https://evil.test", "jwks_uri": "https://evil.test/keys"}, 200),  # speaks for another issuer
    ({"issuer": "same"}, 200),                                                        # no jwks_uri
    ([], 200),
    ({}, 500),
])
def test_a_discovery_document_that_does_not_serve_is_issuer_unavailable(oidc_issuer, discovery, status):
    oidc_issuer.discovery = {"issuer": oidc_issuer.url} if discovery == {"issuer": "same"} else discovery
    oidc_issuer.discovery_status = status
    with pytest.raises(IssuerUnavailable):
        OidcVerifier(oidc_issuer.url, DEFAULT_OIDC_AUDIENCE).verify(oidc_issuer.sign(sub="carol"))


def test_an_unavailable_issuer_is_a_503_to_retry_and_is_asked_again_next_time(oidc_issuer, config):
    app = create_app(dataclasses.replace(config, oidc=OidcSettings(oidc_issuer.url)))
    client = app.test_client()
    token = {"Authorization": f"Bearer {oidc_issuer.sign(sub='carol')}"}
    oidc_issuer.discovery_status = 503
    response = client.get("/1/orders/urn:x", headers=token)
    assert (response.status_code, response.headers["Retry-After"]) == (503, str(ISSUER_RETRY_AFTER_SECONDS))
    assert response.get_json() == {"message": "the token issuer cannot be asked for its keys now; retry later"}
    oidc_issuer.discovery_status = 200  # back: a failed discovery is not kept
    response = client.get("/1/orders/urn:x", headers=token)
    assert (response.status_code, response.get_json()["message"]) == (404, "no order has this id")
    bad = client.get("/1/orders/urn:x", headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401 and bad.get_json()["message"].startswith("the bearer token is not valid")
    app.extensions["database"].dispose()


def test_a_token_without_subject_is_refused():
    token = jwt.encode({"iss": "marketplace", "aud": "marketplace-api", "exp": int(time.time()) + 60},
                       "s" * 40, algorithm="HS256")
    with pytest.raises(InvalidToken):
        SharedSecretVerifier("s" * 40).verify(token)


def test_embedded_defaults_keep_a_generated_secret_and_sqlite_in_the_data_folder(tmp_path):
    env = {"MARKETPLACE_DATA_DIR": str(tmp_path)}
    first, second = Config.from_env(env), Config.from_env(env)
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 40
    assert (tmp_path / ".marketplace-secret-key").stat().st_mode & 0o777 == 0o600
    assert first.database_url == f"sqlite:///{tmp_path / 'marketplace.db'}"
    assert first.backend == "local"


def test_configuration_errors_name_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="MARKETPLACE_BACKEND"):
        Config.from_env({"MARKETPLACE_DATA_DIR": str(tmp_path), "MARKETPLACE_BACKEND": "docker"})
    with pytest.raises(ConfigError, match="need MARKETPLACE_OIDC_ISSUER"):
        Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_OIDC_AUDIENCE": "marketplace"})
    assert Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "DATABASE_URL": "postgresql://u@h/db"}
                           ).database_url == "postgresql+psycopg://u@h/db"


def test_execution_settings_come_from_the_environment_with_their_defaults():
    defaults = Config.from_env({"MARKETPLACE_SECRET_KEY": "k"}).compile
    assert (defaults.run_as_user, defaults.log_bytes, defaults.stuck_seconds, defaults.log_poll_seconds) == (
        10000, 10 * 1024 * 1024, 300, 5)
    settings = Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_RUN_AS_USER": "2000",
                                "MARKETPLACE_ORDER_LOG_BYTES": "4096", "MARKETPLACE_ORDER_STUCK_SECONDS": "60",
                                "MARKETPLACE_LOG_POLL_SECONDS": "2"}).compile
    assert (settings.run_as_user, settings.log_bytes, settings.stuck_seconds, settings.log_poll_seconds) == (
        2000, 4096, 60, 2)
    with pytest.raises(ConfigError, match="MARKETPLACE_RUN_AS_USER must be at least 1"):
        Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_RUN_AS_USER": "0"})  # root is what we avoid


def test_webhook_settings_refuse_inside_networks_unless_the_operator_lists_them():
    import ipaddress

    defaults = Config.from_env({"MARKETPLACE_SECRET_KEY": "k"}).webhooks
    assert defaults.allowed_networks == () and defaults.public_url == "http://localhost:8080"
    settings = Config.from_env({"MARKETPLACE_SECRET_KEY": "k",
                                "MARKETPLACE_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8,fd00::/8",
                                "MARKETPLACE_WEBHOOK_RETRY_SECONDS": "600",
                                "MARKETPLACE_API_URL_FOR_WORKLOADS": "http://api.internal:8080/"}).webhooks
    assert settings.allowed_networks == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))
    assert (settings.retry_seconds, settings.public_url) == (600, "http://api.internal:8080")
    with pytest.raises(ConfigError, match="MARKETPLACE_WEBHOOK_ALLOWED_NETWORKS must list CIDR networks"):
        Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_WEBHOOK_ALLOWED_NETWORKS": "everything"})
    with pytest.raises(ConfigError, match="MARKETPLACE_WEBHOOK_CONCURRENCY must be at least 1"):
        Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_WEBHOOK_CONCURRENCY": "0"})


def test_argo_resource_kinds_are_none_unless_the_operator_lists_them():
    assert Config.from_env({"MARKETPLACE_SECRET_KEY": "k"}).compile.argo_resource_kinds == frozenset()
    listed = Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_ARGO_RESOURCE_KINDS": "ConfigMap, batch/Job"})
    assert listed.compile.argo_resource_kinds == {"ConfigMap", "batch/Job"}
    with pytest.raises(ConfigError, match="MARKETPLACE_ARGO_RESOURCE_KINDS: 'batch/job'"):
        Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_ARGO_RESOURCE_KINDS": "batch/job"})


def test_token_command_prints_a_token_the_server_accepts(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPLACE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MARKETPLACE_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, ["token", "--account", "alice"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert SharedSecretVerifier(Config.from_env().secret_key).verify(token) == "alice"


def test_db_upgrade_creates_the_schema(tmp_path, monkeypatch):
    import sqlalchemy as sa

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("MARKETPLACE_SECRET_KEY", "k")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    tables = sa.inspect(sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")).get_table_names()
    assert {"services", "service_tags", "service_metadata", "alembic_version"} <= set(tables)
