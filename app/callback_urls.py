"""URLs the platform itself calls (webhook callbacks): parsed, resolved, and refused when they lead
inside (loopback, private, link-local and metadata addresses, and their IPv6 disguises) unless the
operator allows those networks. Checked when a URL is given and again, on the address actually
connected to, when it is called: a name may resolve elsewhere by then (DNS rebinding). No Flask."""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2048
SCHEMES = ("http", "https")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (well-known and local-use).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class ForbiddenCallback(ValueError):
    """A callback URL that is malformed, does not resolve, or leads to a refused address."""


@dataclass(frozen=True)
class CallbackTarget:
    """A checked URL and the addresses its host resolved to, every one of them allowed."""

    url: str
    scheme: str
    host: str    # as written (lower case, IDNA-encoded): the Host header and the TLS server name
    port: int
    path: str    # with its query
    addresses: tuple[IPAddress, ...]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:a.b.c.d), 6to4, NAT64, compatible."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d, the deprecated "compatible" form
        return ipaddress.IPv4Address(int(address))
    return None


def refusal(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why the platform will not call this address (None: it may). An address inside an allowed
    network is allowed, whatever it is."""
    if any(address.version == network.version and address in network for network in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "a scoped (link-local) address"
        inner = _embedded_ipv4(address)
        if inner is not None:
            reason = refusal(inner, allowed)
            return f"{reason} (inside {address})" if reason else None
    for reason, test in (("a loopback address", address.is_loopback),
                         ("a link-local address (cloud metadata lives there)", address.is_link_local),
                         ("an unspecified address", address.is_unspecified),
                         ("a multicast address", address.is_multicast),
                         ("a private address", address.is_private),
                         ("a reserved address", address.is_reserved)):
        if test:
            return reason
    if not address.is_global:  # shared address space (100.64/10), documentation ranges, ...
        return "an address that is not public"
    return None


RESOLVE_SECONDS = 3.0  # a name's own servers may answer slowly, on purpose: a request waits no longer
RESOLVERS = 8          # look-ups at once; one the system resolver still holds keeps its thread


class BoundedResolver:
    """The system resolver (getaddrinfo: /etc/hosts, search domains, as the rest of the host sees
    names) with a deadline, which it has none of: a look-up runs on one of a few threads of its
    own, and the caller waits at most `seconds` for a thread and the answer together. Look-ups
    left hanging by slow name servers hold those threads, never the caller's, and cannot pile up."""

    def __init__(self, threads: int = RESOLVERS, seconds: float = RESOLVE_SECONDS):
        self.seconds = seconds
        self._slots = threading.BoundedSemaphore(threads)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="resolve")

    def __call__(self, host: str, port: int) -> list[str]:
        deadline = time.monotonic() + self.seconds
        if not self._slots.acquire(timeout=self.seconds):
            raise TimeoutError(f"every look-up thread is waiting for a name server (at most {self.seconds:g} s)")
        try:
            answer = self._pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        except BaseException:
            self._slots.release()
            raise
        answer.add_done_callback(lambda _: self._slots.release())
        infos = answer.result(timeout=max(0.0, deadline - time.monotonic()))
        return list(dict.fromkeys(info[4][0] for info in infos))


default_resolve = BoundedResolver()


Resolver = Callable[[str, int], list[str]]


def _parts(url: str) -> tuple[SplitResult, str, int]:
    if not isinstance(url, str) or not url:
        raise ForbiddenCallback("an http or https URL is required")
    if len(url) > MAX_URL_LENGTH:
        raise ForbiddenCallback(f"a callback URL may be at most {MAX_URL_LENGTH} characters")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise ForbiddenCallback("a URL without spaces or control characters is required")
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError as error:
        raise ForbiddenCallback(f"not a URL: {error}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise ForbiddenCallback("only http and https URLs can be called")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ForbiddenCallback("a callback URL may not carry credentials: the signature says who calls")
    if not hostname:
        raise ForbiddenCallback("the URL names no host")
    if parts.fragment:
        raise ForbiddenCallback("a callback URL has no fragment")
    try:
        host = hostname.encode("idna").decode("ascii") if not hostname.isascii() else hostname
    except UnicodeError:
        raise ForbiddenCallback("the host name is not a valid internationalised name") from None
    if port == 0:
        raise ForbiddenCallback("port 0 cannot be called")
    return parts, host.rstrip(".") or host, port or (443 if parts.scheme.lower() == "https" else 80)


def check_callback(url: str, allowed: Iterable[IPNetwork] = (), resolve: Resolver | None = None) -> CallbackTarget:
    """Parse, resolve and check a callback URL; raises ForbiddenCallback saying why not."""
    parts, host, port = _parts(url)
    literal = True
    try:
        texts = [str(ipaddress.ip_address(host))]
    except ValueError:
        literal = False
        try:
            texts = (resolve or default_resolve)(host, port)
        except TimeoutError:
            raise ForbiddenCallback(f"the host {host} did not resolve in time") from None
        except (OSError, UnicodeError):
            texts = []
        if not texts:
            raise ForbiddenCallback(f"the host {host} does not resolve") from None
    allowed = tuple(allowed)
    addresses = []
    for text in texts:
        address = ipaddress.ip_address(text)
        reason = refusal(address, allowed)
        if reason:
            where = f"{address} is" if literal else f"the host {host} resolves to {address},"
            raise ForbiddenCallback(f"{where} {reason}: callbacks must reach public addresses")
        addresses.append(address)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return CallbackTarget(url=url, scheme=parts.scheme.lower(), host=host, port=port, path=path,
                          addresses=tuple(addresses))


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """A comma- or space-separated list of CIDR networks (`10.0.0.0/8, fd00::/8`); ValueError if not."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False)
                 for item in text.replace(",", " ").split() if item.strip())


def require_callback(url: str, allowed: Iterable[IPNetwork], name: str = "callback") -> str:
    """The URL, checked for a request: a 422 naming the field and the value when it is refused."""
    from app.api_errors import InvalidParameterValue

    try:
        check_callback(url, allowed)
    except ForbiddenCallback as error:
        raise InvalidParameterValue(f"{name}: {error}", name=name, value=url) from None
    return url
