"""One attempt (app.webhooks.sender): its outcome, and the bounds on how long a receiver can hold it."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from app.callback_urls import parse_networks
from app.config import WebhookSettings
from app.webhooks.sender import post

SETTINGS = WebhookSettings(allowed_networks=parse_networks("127.0.0.1/32"), connect_timeout_seconds=1,
                           read_timeout_seconds=1)


@pytest.fixture
def raw_server():
    """`raw_server(respond)`: a TCP server on 127.0.0.1 that hands each connection to respond(conn)."""
    sockets, stop = [], threading.Event()

    def start(respond) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        sockets.append(listener)

        def serve():
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                threading.Thread(target=respond, args=(conn,), daemon=True).start()
        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/hooks"
    yield start
    stop.set()
    for listener in sockets:
        listener.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    return data


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_two_timeouts_together(raw_server):
    def drip(conn):
        _read_request(conn)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 1000:
                conn.sendall(bytes([byte]))
                time.sleep(0.2)  # each wait shorter than the read timeout
        except OSError:
            pass
        conn.close()
    url = raw_server(drip)
    started = time.monotonic()
    outcome = post(url, b"{}", {"content-type": "application/json"}, SETTINGS)
    assert time.monotonic() - started < 4
    assert (outcome.outcome, outcome.error) == ("failed", "no complete answer within the timeouts")


def test_the_answer_body_is_not_read_and_its_status_is_the_outcome(raw_server):
    def answer(conn):
        request = _read_request(conn)
        assert b"Host: 127.0.0.1:" in request
        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 1000000000\r\n\r\n" + b"x" * 10)
        time.sleep(2)
        conn.close()
    started = time.monotonic()
    outcome = post(raw_server(answer), b"{}", {}, SETTINGS)
    assert (outcome.outcome, outcome.status_code) == ("succeeded", 204)
    assert time.monotonic() - started < 1.5


def test_a_closed_port_fails_saying_so():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    outcome = post(f"http://127.0.0.1:{port}/", b"{}", {}, SETTINGS)
    assert outcome.outcome == "failed" and outcome.status_code is None and "could not connect" in outcome.error


def test_an_address_outside_the_allowance_is_refused_without_connecting():
    outcome = post("http://10.1.2.3/hooks", b"{}", {}, SETTINGS)
    assert outcome.outcome == "refused" and "private address" in outcome.error


def test_a_silent_receiver_fails_after_the_read_timeout_not_the_connect_timeout(raw_server):
    def silent(conn):
        _read_request(conn)
        time.sleep(5)
        conn.close()
    settings = WebhookSettings(allowed_networks=SETTINGS.allowed_networks, connect_timeout_seconds=1,
                               read_timeout_seconds=2)
    outcome = post(raw_server(silent), b"{}", {}, settings)
    assert (outcome.outcome, outcome.error) == ("failed", "no answer within the read timeout")
    assert 1900 <= outcome.duration_ms < 2900


def _self_signed(tmp_path, name: str):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_sends_the_urls_name_as_sni_to_the_checked_address_and_checks_the_certificate(tmp_path, raw_server):
    import ssl

    cert, key = _self_signed(tmp_path, "receiver.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names = []
    context.sni_callback = lambda _sock, name, _context: names.append(name)

    def tls(conn):
        try:
            with context.wrap_socket(conn, server_side=True) as secured:
                _read_request(secured)
        except (ssl.SSLError, OSError):
            pass  # the client refuses the self-signed certificate
    port = raw_server(tls).split(":")[2].split("/")[0]
    outcome = post(f"https://receiver.test:{port}/hooks", b"{}", {}, SETTINGS,
                   resolve=lambda _host, _port: ["127.0.0.1"])
    assert names == ["receiver.test"]
    assert outcome.outcome == "failed" and "certificate verify failed" in outcome.error
