"""The `marketplace` command: serve, worker, token, db, openapi for operators; login, services, orders
and artifacts for the people who publish and order (app.console, over the API)."""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import click

from app.config import Config, ConfigError
from app.console.artifacts import artifacts
from app.console.login import login
from app.console.orders import orders
from app.console.services import services
from app.console.webhooks import webhooks

DEFAULT_SPEC_PATH = Path("openapi/openapi.json")


def _config() -> Config:
    try:
        return Config.from_env()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@click.group(help="A workflow-based analytics service marketplace.")
def main() -> None:
    pass


@main.command(help="Run the API (embedded defaults: SQLite in the data folder, local backend).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--production", is_flag=True,
              help="Serve with gunicorn (MARKETPLACE_WEB_* settings); the schema is upgraded by `db upgrade`.")
def serve(host: str, port: int, production: bool) -> None:
    from app import create_app
    from app.migrate import upgrade
    from app.observability import configure_logging

    config = _config()
    configure_logging(config.log_format, config.log_level)
    if production:
        config = dataclasses.replace(config, production=True)
    app = create_app(config)
    if production:
        from app.production import ProductionServer
        ProductionServer(app, config, f"{host}:{port}").run()
        return
    upgrade(app.extensions["database"].engine)
    from app.worker import start_in_background
    base = f"http://{host}:{port}"
    if not os.environ.get("MARKETPLACE_PUBLIC_URL") and not config.compile.api_url_for_workloads:
        # Webhook bodies link to this server, as served here.
        config = dataclasses.replace(config, webhooks=dataclasses.replace(config.webhooks, public_url=base))
    start_in_background(app.extensions["database"], config)
    click.echo(f"Marketplace API on {base}/1/services  (database: {_safe_url(config.database_url)})")
    click.echo(f"API docs: {base}/docs   OpenAPI: {base}/openapi.json")
    click.echo("Get a token with: marketplace token --account <name>")
    from app.embedded_server import EmbeddedRequestHandler, EmbeddedServer
    server = EmbeddedServer(host, port, app, EmbeddedRequestHandler)
    server.log_startup()
    server.serve_forever()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


@main.command(help="Run the reconcile loop: build services, submit orders, follow them to their end. "
                    "Serves /healthz, /readyz and /metrics on MARKETPLACE_WORKER_PORT (0: none).")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.05, 60))
@click.option("--host", default="0.0.0.0", show_default=True, help="Address of the health and metrics server.")
def worker(interval: float, host: str) -> None:
    import logging
    import signal
    import threading

    from app.db import Database
    from app.observability import configure_logging
    from app.worker import Worker
    from app.worker.health import health_app, serve_health

    config = _config()
    configure_logging(config.log_format, config.log_level)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # Logged, not echoed: in json mode every line of the worker's output is one JSON object.
    log = logging.getLogger("marketplace.worker")
    log.info("worker running against %s (%s backend)", _safe_url(config.database_url), config.backend)
    database = Database(config.database_url, config.database_pool_size)
    loop = Worker(database, config)
    if config.worker_port:
        serve_health(health_app(database, loop.backend, loop.metrics), host, config.worker_port)
        log.info("worker health and metrics on http://%s:%s/readyz and /metrics", host, config.worker_port)
    loop.run(stop, interval)


@main.command(help="Exit 0 when this container's API or worker answers /healthz: the image's HEALTHCHECK, "
                    "whichever of the two the container runs.")
@click.option("--api-port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--worker-port", envvar="MARKETPLACE_WORKER_PORT", default=Config.worker_port, show_default=True,
              type=click.IntRange(0, 65535), help="Default: MARKETPLACE_WORKER_PORT (0: the worker serves none).")
@click.option("--timeout", default=4.0, show_default=True, type=click.FloatRange(0.1, 60))
def healthcheck(api_port: int, worker_port: int, timeout: float) -> None:
    import urllib.request

    # Not the configuration: reading it may create the secret key file, and a probe changes nothing.
    ports = [port for port in (api_port, worker_port) if port]
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout):
                return  # urlopen raises on any status but 2xx
        except OSError:
            continue
    raise click.ClickException(f"nothing answered /healthz on 127.0.0.1 port {' or '.join(map(str, ports))}")


@main.command(help="Print a bearer token for ACCOUNT, signed with this server's secret.")
@click.option("--account", required=True, help="The account the token speaks for (its subject).")
@click.option("--ttl", "ttl_seconds", type=click.IntRange(60, 366 * 24 * 3600), default=None,
              help="Lifetime in seconds (default: MARKETPLACE_TOKEN_TTL_SECONDS or one day).")
def token(account: str, ttl_seconds: int | None) -> None:
    from app.auth import MAX_ACCOUNT_LENGTH, SharedSecretVerifier

    config = _config()
    if config.oidc is not None:
        raise click.ClickException("this server trusts an OIDC issuer: get tokens from it")
    if not account.strip() or len(account) > MAX_ACCOUNT_LENGTH:
        raise click.ClickException(f"--account must be 1 to {MAX_ACCOUNT_LENGTH} characters")
    verifier = SharedSecretVerifier(config.secret_key)
    click.echo(verifier.issue(account, ttl_seconds or config.token_ttl_seconds))


@main.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply the migrations to DATABASE_URL.")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    from app.db import make_engine
    from app.migrate import upgrade

    config = _config()
    engine = make_engine(config.database_url)
    upgrade(engine, revision)
    click.echo(f"database at {_safe_url(config.database_url)} is at {revision}")


@db.command("revision", help="Write a migration for what the models changed (developers).")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    from app.db import make_engine
    from app.migrate import new_revision, upgrade

    engine = make_engine(_config().database_url)
    upgrade(engine)
    new_revision(engine, message)


@main.group(help="The OpenAPI document.")
def openapi() -> None:
    pass


def generate_spec() -> dict:
    from app import create_app

    app = create_app(Config(database_url="sqlite://", secret_key="spec-generation-only"))
    with app.test_request_context():
        return app.extensions["api"].spec.to_dict()


@openapi.command("write", help="Write the generated OpenAPI document (default openapi/openapi.json).")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_SPEC_PATH)
def openapi_write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_spec(generate_spec()))
    click.echo(f"wrote {path}")


def render_spec(spec: dict) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


for command in (login, services, orders, artifacts, webhooks):
    main.add_command(command)


if __name__ == "__main__":
    sys.exit(main())
