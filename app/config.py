"""Settings from environment variables, with defaults for the embedded mode.

The embedded mode needs nothing: a SQLite file and a generated secret in the data folder (the
current folder unless MARKETPLACE_DATA_DIR says otherwise), and the local process backend.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.callback_urls import IPNetwork, parse_networks
from app.db import POOL_SIZE
from workflows.backends.sandbox import SANDBOX_MODES, Limits, SandboxSettings
from workflows.settings import ArtifactRepositoryRef, CompileSettings, parse_resource_kinds

SECRET_FILE_NAME = ".marketplace-secret-key"
DATABASE_FILE_NAME = "marketplace.db"
BACKENDS = ("local", "kubernetes")
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """A setting from the environment is unusable; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, not {value}")
    return value


def _bytes(env: Mapping[str, str], name: str, default: int) -> int:
    """A size in bytes, written as a Kubernetes quantity (`512Mi`, `2Gi`) or a whole number."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    from kubernetes.utils.quantity import parse_quantity
    try:
        value = int(parse_quantity(raw))
    except ValueError:
        raise ConfigError(f"{name} must be a size such as 512Mi or 2Gi, not {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be positive, not {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").lower()
    if raw == "":
        return default
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"{name} must be true or false, not {env[name]!r}")
    return raw in ("true", "1", "yes")


def _resource_kinds(raw: str | None) -> frozenset[str]:
    try:
        return parse_resource_kinds(raw or "")
    except ValueError as error:
        raise ConfigError(f"MARKETPLACE_ARGO_RESOURCE_KINDS: {error}") from None


def _artifact_repository(raw: str | None) -> ArtifactRepositoryRef | None:
    """`configmap-name/key`: an Argo artifact repository in the orders' namespace."""
    if not raw:
        return None
    config_map, _, key = raw.partition("/")
    if not config_map or not key:
        raise ConfigError(f"MARKETPLACE_ARGO_ARTIFACT_REPOSITORY must be configmap-name/key, not {raw!r}")
    return ArtifactRepositoryRef(config_map, key)


def _limits(env: Mapping[str, str]) -> Limits:
    defaults = Limits()
    return Limits(
        memory_bytes=_bytes(env, "MARKETPLACE_ORDER_MEMORY_LIMIT", defaults.memory_bytes),
        cpu_seconds=_int(env, "MARKETPLACE_ORDER_CPU_SECONDS", defaults.cpu_seconds, minimum=1),
        processes=_int(env, "MARKETPLACE_ORDER_MAX_PROCESSES", defaults.processes, minimum=1),
        file_bytes=_bytes(env, "MARKETPLACE_ORDER_MAX_FILE_SIZE", defaults.file_bytes),
        kill_grace_seconds=_int(env, "MARKETPLACE_ORDER_KILL_GRACE_SECONDS", defaults.kill_grace_seconds))


@dataclass(frozen=True)
class RequestLimits:
    """What one API request may carry; app/request_guards.py enforces them."""

    body_bytes: int = 1024 * 1024
    json_depth: int = 64            # nested arrays and objects
    json_number_digits: int = 100   # characters of one number
    json_string_chars: int = 256 * 1024
    json_items: int = 1000          # items of one array, members of one object

    # The walk over a parsed body is recursive: keep the deepest allowed nesting far below
    # Python's recursion limit.
    MAX_DEPTH = 256


def _request_limits(env: Mapping[str, str]) -> RequestLimits:
    defaults = RequestLimits()
    return RequestLimits(
        body_bytes=_bytes(env, "MARKETPLACE_MAX_BODY_BYTES", defaults.body_bytes),
        json_depth=_int(env, "MARKETPLACE_MAX_JSON_DEPTH", defaults.json_depth, minimum=1,
                        maximum=RequestLimits.MAX_DEPTH),
        json_number_digits=_int(env, "MARKETPLACE_MAX_JSON_NUMBER_DIGITS", defaults.json_number_digits,
                                minimum=20, maximum=4300),
        json_string_chars=_int(env, "MARKETPLACE_MAX_JSON_STRING_CHARS", defaults.json_string_chars, minimum=1),
        json_items=_int(env, "MARKETPLACE_MAX_JSON_ITEMS", defaults.json_items, minimum=1))


@dataclass(frozen=True)
class AccountLimits:
    """What one account may hold at once."""

    active_orders: int = 50   # pending, scheduled or executing
    services: int = 200       # published


def _account_limits(env: Mapping[str, str]) -> AccountLimits:
    defaults = AccountLimits()
    return AccountLimits(
        active_orders=_int(env, "MARKETPLACE_MAX_ACTIVE_ORDERS_PER_ACCOUNT", defaults.active_orders, minimum=1),
        services=_int(env, "MARKETPLACE_MAX_SERVICES_PER_ACCOUNT", defaults.services, minimum=1))


def _sandbox(env: Mapping[str, str]) -> SandboxSettings:
    mode = env.get("MARKETPLACE_SANDBOX") or "auto"
    if mode not in SANDBOX_MODES:
        raise ConfigError(f"MARKETPLACE_SANDBOX must be one of {', '.join(SANDBOX_MODES)}, not {mode!r}")
    paths = tuple(path for path in (env.get("MARKETPLACE_SANDBOX_READ_ONLY_PATHS") or "").split(":") if path)
    relative = [path for path in paths if not path.startswith("/")]
    if relative:
        raise ConfigError(f"MARKETPLACE_SANDBOX_READ_ONLY_PATHS takes absolute paths, not {relative[0]!r}")
    return SandboxSettings(mode=mode, network=_bool(env, "MARKETPLACE_SANDBOX_NETWORK", False),
                           read_only_paths=paths)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (postgresql://…)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_or_create_secret(data_dir: Path) -> str:
    """The server's signing secret, generated once and kept (mode 0600) in the data folder."""
    path = data_dir / SECRET_FILE_NAME
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once agree on the first secret written.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


# What OIDC tokens must carry in "aud" unless MARKETPLACE_OIDC_AUDIENCE says otherwise: never
# left unchecked, or any token the issuer made for another application would be accepted here.
DEFAULT_OIDC_AUDIENCE = "marketplace-api"


@dataclass(frozen=True)
class S3Settings:
    """An S3-compatible object store (AWS S3, MinIO, Ceph, GCS interoperability)."""

    bucket: str
    endpoint_url: str | None = None  # None: AWS itself
    region: str | None = None
    access_key_id: str | None = None  # None: the usual AWS credential chain (instance role, files)
    secret_access_key: str | None = None
    presigned_downloads: bool = True  # a download answers with a redirect to a short-lived URL


@dataclass(frozen=True)
class ArtifactSettings:
    max_bytes: int = 5 * 1024**3             # of one artifact
    account_quota_bytes: int = 50 * 1024**3  # of everything one account holds
    product_retention_seconds: int | None = None  # products older than this are removed
    stale_upload_seconds: int = 24 * 3600  # a resumable upload untouched this long is removed
    s3: S3Settings | None = None  # None: a folder in the data folder


def _artifacts(env: Mapping[str, str]) -> ArtifactSettings:
    defaults = ArtifactSettings()
    s3 = None
    if bucket := env.get("MARKETPLACE_S3_BUCKET"):
        s3 = S3Settings(bucket=bucket, endpoint_url=env.get("MARKETPLACE_S3_ENDPOINT_URL") or None,
                        region=env.get("MARKETPLACE_S3_REGION") or None,
                        access_key_id=env.get("MARKETPLACE_S3_ACCESS_KEY_ID") or None,
                        secret_access_key=env.get("MARKETPLACE_S3_SECRET_ACCESS_KEY") or None,
                        presigned_downloads=_bool(env, "MARKETPLACE_S3_PRESIGNED_DOWNLOADS", True))
    retention = _int(env, "MARKETPLACE_PRODUCT_RETENTION_SECONDS", 0)
    return ArtifactSettings(
        max_bytes=_bytes(env, "MARKETPLACE_MAX_ARTIFACT_SIZE", defaults.max_bytes),
        account_quota_bytes=_bytes(env, "MARKETPLACE_ACCOUNT_STORAGE_QUOTA", defaults.account_quota_bytes),
        product_retention_seconds=retention or None, s3=s3,
        stale_upload_seconds=_int(env, "MARKETPLACE_STALE_UPLOAD_SECONDS", defaults.stale_upload_seconds, minimum=60))


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    audience: str = DEFAULT_OIDC_AUDIENCE
    jwks_url: str | None = None  # None: from the issuer's discovery document
    # The web pages' sign-in (authorization code with PKCE): this application's public client at
    # the issuer. No client id: the pages offer no sign-in through the issuer.
    client_id: str | None = None
    client_secret: str | None = None  # a confidential client's (not read from the environment yet)
    scope: str = "openid"


@dataclass(frozen=True)
class WebServerSettings:
    """gunicorn, for `marketplace serve --production`."""

    workers: int = 2
    threads: int = 4
    timeout: int = 30
    graceful_timeout: int = 30


@dataclass(frozen=True)
class EventStreamSettings:
    """The live event streams (GET /1/orders/{id}/events, /1/orders/events). Under gunicorn's
    gthread workers a stream holds a thread: each process gets `per_process` threads of its own for
    streams (beyond MARKETPLACE_WEB_THREADS, which stay free for ordinary requests), and a stream
    past that bound is refused with 503 and Retry-After."""

    per_process: int = 64
    heartbeat_seconds: float = 15.0   # a comment line, so proxies keep an idle stream open
    poll_seconds: float = 0.5         # SQLite; on PostgreSQL NOTIFY wakes streams, this is a fallback x10
    max_seconds: int = 3600           # a stream then ends; the client reconnects with Last-Event-ID


def _event_streams(env: Mapping[str, str]) -> EventStreamSettings:
    defaults = EventStreamSettings()
    return EventStreamSettings(
        per_process=_int(env, "MARKETPLACE_EVENT_STREAMS_PER_PROCESS", defaults.per_process),
        heartbeat_seconds=_int(env, "MARKETPLACE_EVENT_HEARTBEAT_SECONDS", int(defaults.heartbeat_seconds),
                               minimum=1),
        max_seconds=_int(env, "MARKETPLACE_EVENT_STREAM_MAX_SECONDS", defaults.max_seconds))


@dataclass(frozen=True)
class WebhookSettings:
    """Signed callbacks on order status changes (app.webhooks), sent by the worker's dispatcher."""

    # Networks callbacks may reach although they are not public (loopback, private, link-local):
    # for development and for receivers inside the operator's own network.
    allowed_networks: tuple[IPNetwork, ...] = ()
    retry_seconds: int = 24 * 3600       # after the first attempt; then the delivery is failed
    first_retry_seconds: float = 5.0     # doubles each attempt, with jitter
    max_retry_interval_seconds: int = 3600
    connect_timeout_seconds: float = 3.0
    read_timeout_seconds: float = 10.0
    concurrency: int = 8                 # deliveries in flight per worker process
    max_payload_bytes: int = 256 * 1024  # a larger order is sent without its parameters and products
    endpoints_per_account: int = 10
    poll_seconds: float = 0.5
    # The base of the links in the payload (the dispatcher renders outside any request).
    public_url: str = "http://localhost:8080"


def _webhooks(env: Mapping[str, str], api_url_for_workloads: str | None) -> WebhookSettings:
    defaults = WebhookSettings()
    try:
        allowed = parse_networks(env.get("MARKETPLACE_WEBHOOK_ALLOWED_NETWORKS") or "")
    except ValueError as error:
        raise ConfigError(f"MARKETPLACE_WEBHOOK_ALLOWED_NETWORKS must list CIDR networks: {error}") from None
    return WebhookSettings(
        allowed_networks=allowed,
        retry_seconds=_int(env, "MARKETPLACE_WEBHOOK_RETRY_SECONDS", defaults.retry_seconds),
        first_retry_seconds=_int(env, "MARKETPLACE_WEBHOOK_FIRST_RETRY_SECONDS", int(defaults.first_retry_seconds),
                                 minimum=1),
        max_retry_interval_seconds=_int(env, "MARKETPLACE_WEBHOOK_MAX_RETRY_INTERVAL_SECONDS",
                                        defaults.max_retry_interval_seconds, minimum=1),
        connect_timeout_seconds=_int(env, "MARKETPLACE_WEBHOOK_CONNECT_TIMEOUT_SECONDS",
                                     int(defaults.connect_timeout_seconds), minimum=1, maximum=60),
        read_timeout_seconds=_int(env, "MARKETPLACE_WEBHOOK_READ_TIMEOUT_SECONDS", int(defaults.read_timeout_seconds),
                                  minimum=1, maximum=300),
        concurrency=_int(env, "MARKETPLACE_WEBHOOK_CONCURRENCY", defaults.concurrency, minimum=1, maximum=256),
        max_payload_bytes=_bytes(env, "MARKETPLACE_WEBHOOK_MAX_PAYLOAD_BYTES", defaults.max_payload_bytes),
        endpoints_per_account=_int(env, "MARKETPLACE_WEBHOOK_ENDPOINTS_PER_ACCOUNT", defaults.endpoints_per_account,
                                   minimum=1),
        public_url=(env.get("MARKETPLACE_PUBLIC_URL") or api_url_for_workloads or defaults.public_url).rstrip("/"))


@dataclass(frozen=True)
class Config:
    """Everything the application reads from its environment, resolved once."""

    database_url: str
    secret_key: str
    database_pool_size: int = POOL_SIZE  # PostgreSQL connections each process keeps open (app.db)
    backend: str = "local"
    data_dir: Path = field(default_factory=Path.cwd)
    oidc: OidcSettings | None = None
    token_ttl_seconds: int = 24 * 3600
    log_format: str = "text"
    log_level: str = "INFO"
    web: WebServerSettings = field(default_factory=lambda: WebServerSettings())
    compile: CompileSettings = field(default_factory=CompileSettings)
    limits: Limits = field(default_factory=Limits)  # of each order on the local backend
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    worker_port: int = 8081
    requests: RequestLimits = field(default_factory=RequestLimits)
    accounts: AccountLimits = field(default_factory=AccountLimits)
    artifacts: ArtifactSettings = field(default_factory=ArtifactSettings)
    events: EventStreamSettings = field(default_factory=EventStreamSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    # Served by `marketplace serve --production`: the web pages refuse the token-paste sign-in
    # (people sign in through the OIDC issuer) and the session cookie is Secure.
    production: bool = False

    @property
    def runs_dir(self) -> Path:
        """Where the local backend keeps each order's run (its folder, output and exit record)."""
        return self.data_dir / "runs"

    @property
    def artifacts_dir(self) -> Path:
        """The folder store's root, when no S3 store is configured."""
        return self.data_dir / "artifacts"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        data_dir = Path(env.get("MARKETPLACE_DATA_DIR") or Path.cwd()).resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / DATABASE_FILE_NAME}"
        secret_key = env.get("MARKETPLACE_SECRET_KEY") or load_or_create_secret(data_dir)
        backend = env.get("MARKETPLACE_BACKEND") or "local"
        if backend not in BACKENDS:
            raise ConfigError(f"MARKETPLACE_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
        oidc = None
        if env.get("MARKETPLACE_OIDC_ISSUER"):
            oidc = OidcSettings(env["MARKETPLACE_OIDC_ISSUER"],
                                env.get("MARKETPLACE_OIDC_AUDIENCE") or DEFAULT_OIDC_AUDIENCE,
                                env.get("MARKETPLACE_OIDC_JWKS_URL") or None,
                                client_id=env.get("MARKETPLACE_OIDC_CLIENT_ID") or None,
                                scope=env.get("MARKETPLACE_OIDC_SCOPE") or "openid")
        elif any(env.get(f"MARKETPLACE_OIDC_{name}") for name in ("AUDIENCE", "JWKS_URL", "CLIENT_ID")):
            # Without the issuer they would be ignored, and tokens checked with the shared secret.
            raise ConfigError("MARKETPLACE_OIDC_AUDIENCE, MARKETPLACE_OIDC_JWKS_URL and MARKETPLACE_OIDC_CLIENT_ID "
                              "need MARKETPLACE_OIDC_ISSUER")
        log_format = env.get("MARKETPLACE_LOG_FORMAT") or "text"
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"MARKETPLACE_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
        web = WebServerSettings(
            workers=_int(env, "MARKETPLACE_WEB_WORKERS", 2, minimum=1),
            threads=_int(env, "MARKETPLACE_WEB_THREADS", 4, minimum=1),
            timeout=_int(env, "MARKETPLACE_WEB_TIMEOUT", 30, minimum=1),
            graceful_timeout=_int(env, "MARKETPLACE_WEB_GRACEFUL_TIMEOUT", 30, minimum=1))
        defaults = CompileSettings()
        compile_settings = CompileSettings(
            namespace=env.get("MARKETPLACE_NAMESPACE") or defaults.namespace,
            service_account=env.get("MARKETPLACE_RUNNER_SERVICE_ACCOUNT") or defaults.service_account,
            backoff_limit=_int(env, "MARKETPLACE_JOB_BACKOFF_LIMIT", defaults.backoff_limit),
            active_deadline_seconds=_int(env, "MARKETPLACE_JOB_ACTIVE_DEADLINE_SECONDS",
                                         defaults.active_deadline_seconds, minimum=1),
            ttl_seconds_after_finished=_int(env, "MARKETPLACE_JOB_TTL_SECONDS", defaults.ttl_seconds_after_finished),
            run_as_user=_int(env, "MARKETPLACE_RUN_AS_USER", defaults.run_as_user, minimum=1),
            log_bytes=_bytes(env, "MARKETPLACE_ORDER_LOG_BYTES", defaults.log_bytes),
            stuck_seconds=_int(env, "MARKETPLACE_ORDER_STUCK_SECONDS", defaults.stuck_seconds, minimum=1),
            log_poll_seconds=_int(env, "MARKETPLACE_LOG_POLL_SECONDS", defaults.log_poll_seconds, minimum=1),
            argo_resource_kinds=_resource_kinds(env.get("MARKETPLACE_ARGO_RESOURCE_KINDS")),
            api_url_for_workloads=env.get("MARKETPLACE_API_URL_FOR_WORKLOADS") or None,
            helper_image=env.get("MARKETPLACE_HELPER_IMAGE") or None,
            artifact_repository=_artifact_repository(env.get("MARKETPLACE_ARGO_ARTIFACT_REPOSITORY")),
            max_products=_int(env, "MARKETPLACE_MAX_PRODUCTS_PER_ORDER", defaults.max_products, minimum=1),
            max_product_bytes=_bytes(env, "MARKETPLACE_MAX_PRODUCT_BYTES_PER_ORDER", defaults.max_product_bytes))
        return cls(
            compile=compile_settings,
            limits=_limits(env),
            requests=_request_limits(env),
            accounts=_account_limits(env),
            artifacts=_artifacts(env),
            events=_event_streams(env),
            webhooks=_webhooks(env, compile_settings.api_url_for_workloads),
            sandbox=_sandbox(env),
            log_format=log_format,
            log_level=env.get("MARKETPLACE_LOG_LEVEL") or "INFO",
            web=web,
            database_url=normalise_database_url(database_url),
            database_pool_size=_int(env, "MARKETPLACE_DATABASE_POOL_SIZE", POOL_SIZE, minimum=1),
            secret_key=secret_key,
            backend=backend,
            data_dir=data_dir,
            oidc=oidc,
            worker_port=_int(env, "MARKETPLACE_WORKER_PORT", 8081, minimum=0),
            token_ttl_seconds=_int(env, "MARKETPLACE_TOKEN_TTL_SECONDS", 24 * 3600, minimum=60),
        )
