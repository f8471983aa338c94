"""The HTTP client: checked and pinned addresses, clear errors, one pooled session."""
import socket
import ssl
import struct
import threading
import time

import pytest

from app.services import transport
from tests import factories
from tests.jobs.engine import attempts_of, make_endpoint, run_worker
from tests.receiver import Reply


def loopback_name():
    """A hostname (not an IP literal) that resolves to 127.0.0.1 on this machine."""
    for name in (socket.gethostname(), "localhost"):
        try:
            if {info[4][0] for info in socket.getaddrinfo(name, 80)} == {"127.0.0.1"}:
                return name
        except OSError:
            continue
    pytest.skip("no hostname resolves to 127.0.0.1 here")


def test_the_connection_goes_to_the_pinned_address_with_the_hosts_name(receiver):
    port = receiver.url.rsplit(":", 1)[1]
    outcome = transport.post(
        f"http://hooks.unresolvable.invalid:{port}/in?x=1", b"{}", {}, timeout=2,
        allow_private=False, address="127.0.0.1",
    )

    assert (outcome.ok, outcome.status, outcome.remote_address) == (True, 200, "127.0.0.1")
    sent = receiver.wait_for(1)[0]
    assert sent.headers["Host"] == f"hooks.unresolvable.invalid:{port}"
    assert sent.path == "/in?x=1"


def test_one_session_per_process_keeps_connections_alive(receiver):
    assert transport.session() is transport.session()
    for _ in range(3):
        assert transport.post(receiver.url, b"{}", {}, timeout=2, allow_private=True).ok

    assert len({sent.client for sent in receiver.wait_for(3)}) == 1


def test_a_long_response_is_cut_at_the_body_limit_and_its_connection_dropped(receiver):
    receiver.queue(Reply(body=b"x" * (10 * 1024 * 1024)))
    cut = transport.post(receiver.url, b"{}", {}, timeout=2, allow_private=True)
    after = transport.post(receiver.url, b"{}", {}, timeout=2, allow_private=True)

    assert (cut.ok, cut.truncated, len(cut.body)) == (True, True, transport.RESPONSE_BODY_LIMIT)
    assert (after.ok, after.body) == (True, "ok")
    first, second = receiver.wait_for(2)
    assert first.client != second.client


def test_a_name_resolving_to_loopback_is_blocked_at_send_time(make_app, org, receiver):
    name = loopback_name()
    port = receiver.url.rsplit(":", 1)[1]
    make_endpoint(org, f"http://{name}:{port}/hook")
    org_id = org.id
    strict = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
    with strict.app_context():
        from app.services import events

        [delivery_id] = events.ingest(org_id, "scan.completed", {}).delivery_ids
        run_worker(strict)
        [attempt] = attempts_of(delivery_id)
    assert attempt.error.startswith("Blocked address: ")
    assert "127.0.0.1" in attempt.error or name in attempt.error
    assert attempt.response_status is None
    assert receiver.requests == []


def test_private_targets_are_reachable_when_the_setting_allows_them(app, org, receiver):
    endpoint = factories.make_endpoint(org, url=receiver.url)
    outcome = transport.post(
        endpoint.url, b"{}", {"Content-Type": "application/json"}, timeout=2, allow_private=True
    )
    assert (outcome.ok, outcome.status, outcome.error) == (True, 200, None)


def test_a_blocked_literal_address_is_refused_without_connecting(receiver):
    outcome = transport.post(receiver.url, b"{}", {}, timeout=2, allow_private=False)
    assert outcome.error.startswith("Blocked address: ")
    assert receiver.requests == []


class RawServer:
    """A TCP server on 127.0.0.1 that reads one request and answers with `behaviour`."""

    def __init__(self, behaviour, read_first=True):
        self.behaviour = behaviour
        self.read_first = read_first
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.thread = threading.Thread(target=self._serve)

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            if self.read_first:
                conn.recv(65536)
            self.behaviour(conn)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join()
        self.sock.close()


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def garbage(conn):
    conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")


def test_a_reset_connection_is_reported():
    with RawServer(reset) as server:
        outcome = transport.post(server.url, b"{}", {}, timeout=2, allow_private=True)
    assert outcome.error == "Connection reset"


def test_a_malformed_response_is_reported():
    with RawServer(garbage) as server:
        outcome = transport.post(server.url, b"{}", {}, timeout=2, allow_private=True)
    assert outcome.error.startswith("Invalid HTTP response: ")
    assert outcome.status is None


def test_a_malformed_header_is_reported_on_one_line():
    def answer(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok")

    with RawServer(answer) as server:
        outcome = transport.post(server.url, b"{}", {}, timeout=2, allow_private=True)
    assert outcome.error == (
        "Invalid HTTP response: Duplicate Content-Length: b'Content-Length: 3'"
    )


@pytest.mark.parametrize("raw", [b"caf\xe9", b"caf\xc3\xa9"], ids=["latin-1", "utf-8"])
def test_a_response_header_is_kept_as_the_receiver_wrote_it(raw):
    def answer(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Note: %s\r\nContent-Length: 2\r\n\r\nok" % raw)

    with RawServer(answer) as server:
        outcome = transport.post(server.url, b"{}", {}, timeout=2, allow_private=True)
    assert outcome.headers["X-Note"] == "café"


def self_signed(tmp_path, name):
    """A certificate and key for `name`, signed by nobody a client trusts."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return cert_path, key_path


def test_tls_to_a_pinned_address_sends_the_hostname_and_checks_the_certificate(tmp_path):
    cert, key = self_signed(tmp_path, "hooks.example.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen = []
    context.sni_callback = lambda sock, server_name, ctx: seen.append(server_name)

    def handshake(conn):
        try:
            with context.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    with RawServer(handshake, read_first=False) as server:
        port = server.url.rsplit(":", 1)[1].rstrip("/")
        outcome = transport.post(
            f"https://hooks.example.test:{port}/", b"{}", {}, timeout=2, allow_private=False,
            address="127.0.0.1",
        )

    assert seen == ["hooks.example.test"]
    assert outcome.error == "TLS error: certificate verify failed: self-signed certificate"
    assert outcome.status is None


def test_tls_to_a_plain_http_server_is_a_tls_error(receiver):
    outcome = transport.post(
        receiver.url.replace("http://", "https://"), b"{}", {}, timeout=2, allow_private=True
    )
    assert outcome.error == "TLS error: wrong version number"


def stall_after_headers(conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
    time.sleep(1.5)


def test_a_receiver_that_stalls_after_its_headers_is_a_timeout():
    with RawServer(stall_after_headers) as server:
        outcome = transport.post(server.url, b"{}", {}, timeout=1, allow_private=True)
    assert outcome.error == "Timed out after 1 s"
    assert outcome.status is None


def drip(data, every=0.25):
    """A behaviour that sends `data` a byte at a time, each well within the read timeout."""
    def behaviour(conn):
        try:
            for byte in data:
                conn.sendall(bytes([byte]))
                time.sleep(every)
        except OSError:
            pass  # the client gave up: what the deadline is for
    return behaviour


@pytest.mark.parametrize("name, data", [
    ("the body", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100),
    ("the headers", b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"),
])
def test_a_receiver_dripping_bytes_is_cut_off_at_the_deadline(name, data):
    with RawServer(drip(data)) as server:
        outcome = transport.post(server.url, b"{}", {}, timeout=1, allow_private=True)
    # Each byte comes well within the 1 s read timeout; only the deadline ends the send.
    assert (outcome.error, outcome.status, outcome.timed_out) == ("Timed out after 1 s", None,
                                                                 True)
    assert 1000 <= outcome.duration_ms < 1900


def nul_and_bad_bytes(conn):
    body = b"ok\x00then\xff\xfe"
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def test_a_response_body_is_made_storable():
    with RawServer(nul_and_bad_bytes) as server:
        outcome = transport.post(server.url, b"{}", {}, timeout=2, allow_private=True)
    assert (outcome.ok, outcome.body) == (True, "ok\ufffdthen\ufffd\ufffd")


def test_a_header_value_outside_latin_1_fails_the_send_with_a_clear_error(receiver):
    outcome = transport.post(receiver.url, b"{}", {"X-Token": "tok€n"}, timeout=2,
                             allow_private=True)
    assert outcome.error == (
        "A header value has characters that cannot be sent in HTTP (only Latin-1)"
    )
    assert receiver.requests == []


def gzip_of_zeros(megabytes):
    """A gzip stream that inflates to `megabytes` MB of zeros (about 1/1000 of that on the
    wire), made without holding the zeros."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(chunk) for _ in range(megabytes)) + packer.flush()


def test_a_compressed_response_is_inflated_only_up_to_the_body_limit():
    import resource

    bomb = gzip_of_zeros(500)

    def answer(conn):
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(bomb), bomb))
        except OSError:
            pass  # the client stopped reading at the limit

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with RawServer(answer) as server:
        outcome = transport.post(server.url, b"{}", {}, timeout=5, allow_private=True)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024

    assert (outcome.ok, outcome.truncated) == (True, True)
    assert outcome.body == "\ufffd" * transport.RESPONSE_BODY_LIMIT  # NULs made storable
    assert grown_mb < 100  # not the 500 MB the receiver packed
