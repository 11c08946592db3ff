"""One attempt at a delivery: check the callback's address again, connect to that very address (so a
name that resolves elsewhere a moment later cannot redirect it), send, and note the answer's status.
Short timeouts; no redirect followed; the answer's body is not read."""
from __future__ import annotations

import time
from collections.abc import Mapping

import urllib3

from app.callback_urls import ForbiddenCallback, Resolver, check_callback
from app.config import WebhookSettings
from app.db import utcnow
from app.status import AttemptOutcome
from app.webhooks.deliveries import Outcome

DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_header(host: str, scheme: str, port: int) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if DEFAULT_PORTS[scheme] == port else f"{name}:{port}"


def _describe(error: Exception) -> str:
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
        return "no connection within the connect timeout"
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        return "no answer within the read timeout"
    if isinstance(error, urllib3.exceptions.SSLError):
        return f"TLS failed: {error}"
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return f"could not connect: {error}"
    return f"{type(error).__name__}: {error}"


def post(url: str, body: bytes, headers: Mapping[str, str], settings: WebhookSettings,
         resolve: Resolver | None = None) -> Outcome:
    started, clock = utcnow(), time.monotonic()

    def outcome(kind: AttemptOutcome, **details) -> Outcome:
        return Outcome(kind, started, int((time.monotonic() - clock) * 1000), **details)

    try:
        target = check_callback(url, settings.allowed_networks, resolve)
    except ForbiddenCallback as error:
        return outcome(AttemptOutcome.REFUSED, error=str(error))
    address = str(target.addresses[0])
    timeout = urllib3.Timeout(connect=settings.connect_timeout_seconds, read=settings.read_timeout_seconds)
    if target.scheme == "https":
        # Connected to the checked address; the certificate is checked for the name in the URL (SNI too).
        pool = urllib3.HTTPSConnectionPool(address, target.port, timeout=timeout, retries=False, maxsize=1,
                                           cert_reqs="CERT_REQUIRED", server_hostname=target.host,
                                           assert_hostname=target.host)
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False, maxsize=1)
    try:
        response = pool.urlopen("POST", target.path, body=body,
                                headers={**headers, "Host": _host_header(target.host, target.scheme, target.port)},
                                redirect=False, retries=False, preload_content=False, assert_same_host=False)
        status = response.status
        response.close()  # the body is not read: a receiver's answer is its status alone
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return outcome(AttemptOutcome.FAILED, error=_describe(error))
    finally:
        pool.close()
    if 200 <= status < 300:
        return outcome(AttemptOutcome.SUCCEEDED, status_code=status)
    return outcome(AttemptOutcome.FAILED, status_code=status, error=f"answered {status}")
