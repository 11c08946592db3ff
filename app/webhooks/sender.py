"""One attempt at a delivery: check the callback's address again, connect to that very address (so a
name that resolves elsewhere a moment later cannot redirect it), send, and note the answer's status.
Short timeouts, and a deadline for the whole attempt; no redirect followed; the answer's body is
not read."""
from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Mapping

import urllib3
import urllib3.connection

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
    if isinstance(error, urllib3.exceptions.NewConnectionError):  # a subclass of ConnectTimeoutError
        return f"could not connect: {error}"
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
        return "no connection within the connect timeout"
    if isinstance(error, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
        return "no answer within the read timeout"
    if isinstance(error, urllib3.exceptions.SSLError):
        return f"TLS failed: {error}"
    return f"{type(error).__name__}: {error}"


def _cut(connection: urllib3.connection.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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
    if target.scheme == "https":
        # Connected to the checked address; the certificate is checked for the name in the URL (SNI too).
        connection = urllib3.connection.HTTPSConnection(
            address, target.port, timeout=settings.connect_timeout_seconds, cert_reqs="CERT_REQUIRED",
            server_hostname=target.host, assert_hostname=target.host)
    else:
        connection = urllib3.connection.HTTPConnection(address, target.port,
                                                       timeout=settings.connect_timeout_seconds)
    # The read timeout bounds each wait; the watchdog bounds them all, so a receiver that drips its
    # answer a byte at a time holds a sender no longer than the two timeouts together.
    cut = threading.Event()
    watchdog = threading.Timer(settings.connect_timeout_seconds + settings.read_timeout_seconds, _cut,
                               args=(connection, cut))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        connection.timeout = settings.read_timeout_seconds  # what urllib3 sets on the socket to read the answer
        connection.sock.settimeout(settings.read_timeout_seconds)
        connection.request("POST", target.path, body=body, preload_content=False,
                           headers={**headers, "Host": _host_header(target.host, target.scheme, target.port)})
        status = connection.getresponse().status  # the body is not read: the answer is its status alone
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError) as error:
        reason = "no complete answer within the timeouts" if cut.is_set() else _describe(error)
        return outcome(AttemptOutcome.FAILED, error=reason)
    finally:
        watchdog.cancel()
        connection.close()
    if 200 <= status < 300:
        return outcome(AttemptOutcome.SUCCEEDED, status_code=status)
    return outcome(AttemptOutcome.FAILED, status_code=status, error=f"answered {status}")
