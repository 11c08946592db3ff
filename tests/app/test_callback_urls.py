"""Callback URLs: parsed, resolved, and refused when they lead inside, however the address is written."""
from __future__ import annotations

import ipaddress
import threading
import time

import pytest

from app import callback_urls
from app.callback_urls import ForbiddenCallback, check_callback, parse_networks, refusal


def resolving(*addresses: str):
    return lambda _host, _port: list(addresses)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.255.0.9", "::1",                      # loopback
    "10.1.2.3", "172.16.0.1", "192.168.1.1", "fd12::1",     # private (RFC 1918, ULA)
    "169.254.169.254", "fd00:ec2::254", "fe80::1",          # link-local, cloud metadata (AWS IPv4 and IPv6)
    "0.0.0.0", "::",                                        # unspecified
    "224.0.0.1", "ff02::1",                                 # multicast
    "240.0.0.1", "255.255.255.255",                         # reserved, broadcast
    "100.64.0.1", "192.0.2.1",                              # shared address space, documentation
    "::ffff:127.0.0.1", "::ffff:169.254.169.254",           # IPv4-mapped
    "2002:7f00:1::1", "2002:a9fe:a9fe::1",                  # 6to4 of loopback, of the metadata address
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1",  # NAT64 (well-known and local-use)
    "::127.0.0.1",                                          # IPv4-compatible (deprecated)
])
def test_inside_addresses_are_refused(address):
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:93.184.215.14",
                                     "64:ff9b::5db8:d70e"])
def test_public_addresses_are_allowed(address):
    assert refusal(ipaddress.ip_address(address)) is None


def test_an_allowed_network_opens_what_it_covers_and_nothing_else():
    allowed = parse_networks("127.0.0.1/32, 10.0.0.0/8")
    assert refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert refusal(ipaddress.ip_address("10.9.8.7"), allowed) is None
    assert refusal(ipaddress.ip_address("::ffff:10.9.8.7"), allowed) is None
    assert refusal(ipaddress.ip_address("127.0.0.2"), allowed) is not None
    assert refusal(ipaddress.ip_address("169.254.169.254"), allowed) is not None


@pytest.mark.parametrize("url, message", [
    ("ftp://example.org/x", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("https://user:pass@example.org/", "credentials"),
    ("https://user@example.org/", "credentials"),
    ("https:///nohost", "no host"),
    ("https://example.org:99999/", "not a URL"),
    ("https://example.org:0/", "port 0"),
    ("https://exa mple.org/", "spaces or control characters"),
    ("https://example.org/\r\nX-Injected: 1", "spaces or control characters"),
    ("https://example.org/#frag", "fragment"),
    ("https://example.org/" + "a" * 2048, "at most 2048"),
    ("http://[::1/", "not a URL"),
])
def test_malformed_urls_are_refused_saying_why(url, message):
    with pytest.raises(ForbiddenCallback, match=message):
        check_callback(url, resolve=resolving("93.184.215.14"))


@pytest.mark.parametrize("url", ["http://0x7f.1/", "http://2130706433/", "http://017700000001/", "http://127.1/"])
def test_numeric_spellings_of_loopback_are_refused_as_the_resolver_reads_them(url):
    with pytest.raises(ForbiddenCallback, match="resolves to 127.0.0.1, a loopback address"):
        check_callback(url)


def test_a_name_is_refused_if_any_of_its_addresses_is_inside():
    with pytest.raises(ForbiddenCallback, match="resolves to 10.0.0.5, a private address"):
        check_callback("https://hooks.example.org/x", resolve=resolving("93.184.215.14", "10.0.0.5"))


def test_a_name_that_does_not_resolve_is_refused():
    def fails(_host, _port):
        raise OSError("Name or service not known")
    with pytest.raises(ForbiddenCallback, match="does not resolve"):
        check_callback("https://nowhere.invalid/x", resolve=fails)


def test_a_name_whose_servers_hang_is_refused_in_time_and_stuck_look_ups_cannot_pile_up(monkeypatch):
    released = threading.Event()
    calls = []

    def hangs(host, port, **_):
        calls.append(host)
        released.wait(30)
        raise OSError("timed out")

    monkeypatch.setattr(callback_urls.socket, "getaddrinfo", hangs)
    resolve = callback_urls.BoundedResolver(threads=2, seconds=0.2)
    try:
        for attempt in range(4):  # two look-ups hang in both threads; the next ones find no thread
            began = time.monotonic()
            with pytest.raises(ForbiddenCallback, match="did not resolve in time"):
                check_callback(f"https://slow{attempt}.example.org/x", resolve=resolve)
            assert time.monotonic() - began < 5
        assert calls == ["slow0.example.org", "slow1.example.org"]  # no third thread was taken
    finally:
        released.set()


def test_literal_addresses_are_checked_without_resolving():
    def must_not_resolve(_host, _port):
        raise AssertionError("resolved a literal")
    with pytest.raises(ForbiddenCallback, match=r"^::1 is a loopback address"):
        check_callback("http://[::1]:8080/x", resolve=must_not_resolve)
    with pytest.raises(ForbiddenCallback, match="link-local"):
        check_callback("http://169.254.169.254/latest/meta-data/", resolve=must_not_resolve)
    target = check_callback("https://93.184.215.14/hooks?a=1", resolve=must_not_resolve)
    assert (target.host, target.port, target.path) == ("93.184.215.14", 443, "/hooks?a=1")


def test_a_checked_target_keeps_the_name_and_the_addresses_to_connect_to():
    target = check_callback("http://Hooks.Example.org:8080", resolve=resolving("93.184.215.14"))
    assert (target.scheme, target.host, target.port, target.path) == ("http", "hooks.example.org", 8080, "/")
    assert target.addresses == (ipaddress.ip_address("93.184.215.14"),)


def test_networks_setting_is_parsed_strictly():
    assert parse_networks("") == ()
    assert parse_networks("fd00::/8 127.0.0.1") == (ipaddress.ip_network("fd00::/8"),
                                                    ipaddress.ip_network("127.0.0.1/32"))
    with pytest.raises(ValueError):
        parse_networks("not-a-network")
