"""Token verification (embedded HS256 and an OIDC issuer's JWKS), configuration and the CLI."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa

from app.auth import InvalidToken, OidcVerifier, SharedSecretVerifier
from app.cli import main
from app.config import Config, ConfigError


@pytest.fixture
def oidc_issuer():
    """A local OIDC issuer: an RSA key whose public half is served as a JWKS on 127.0.0.1."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def sign(**claims):
        claims = {"iss": "https://issuer.test", "aud": "marketplace", "exp": int(time.time()) + 60, **claims}
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})

    yield f"http://127.0.0.1:{server.server_port}/jwks", sign
    server.shutdown()


def test_oidc_tokens_are_verified_against_the_issuers_keys(oidc_issuer):
    jwks_url, sign = oidc_issuer
    verifier = OidcVerifier("https://issuer.test", "marketplace", jwks_url)
    assert verifier.verify(sign(sub="carol")) == "carol"
    with pytest.raises(InvalidToken):
        verifier.verify(sign(sub="carol", aud="someone-else"))
    with pytest.raises(InvalidToken):
        verifier.verify(sign(sub="carol", iss="https://evil.test"))
    with pytest.raises(InvalidToken):
        verifier.verify(SharedSecretVerifier("x" * 40).issue("carol", 60))


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
    with pytest.raises(ConfigError, match="MARKETPLACE_OIDC_AUDIENCE"):
        Config.from_env({"MARKETPLACE_SECRET_KEY": "k", "MARKETPLACE_OIDC_ISSUER": "https://i"})
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
