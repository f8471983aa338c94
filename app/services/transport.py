"""The one HTTP client: pinned and checked addresses, no redirects, an absolute deadline per
send, and a cap on what is read of the response."""
import heapq
import itertools
import socket
import ssl
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException
from urllib.parse import urlsplit

import certifi
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import (
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from . import url_safety

# What is read of a response body; the rest is never read and the connection is dropped.
RESPONSE_BODY_LIMIT = 64 * 1024
# Response headers kept for history: how many, and how long each value may be.
RESPONSE_HEADERS_KEPT = 64
RESPONSE_HEADER_VALUE_LIMIT = 1024
POOLS_KEPT = 256
CONNECTIONS_PER_POOL = 32

_lock = threading.Lock()
_manager = None
_send_pools = {}


def storable(text):
    """Text that every database can store: NUL and unpaired surrogates become U+FFFD."""
    if text is None:
        return None
    text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


@dataclass
class Outcome:
    """What one POST gave: a status and response, or the error that stopped it."""

    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: str = ""
    error: str | None = None
    duration_ms: int = 0
    remote_address: str | None = None
    # The body was longer than RESPONSE_BODY_LIMIT: only its start was read.
    truncated: bool = False
    timed_out: bool = False

    @property
    def ok(self):
        return self.error is None and self.status is not None and 200 <= self.status < 300


# The deadline ----------------------------------------------------------------------------

class _Send:
    """One send's deadline and the connection it is using, watched by the watchdog."""

    __slots__ = ("deadline", "connection", "fired", "finished")

    def __init__(self, deadline):
        self.deadline = deadline
        self.connection = None
        self.fired = False
        self.finished = False


class _Watchdog:
    """One thread per process that shuts the socket of any send still running at its deadline.

    Socket timeouts bound each read, not the whole response: a receiver that sends a byte
    every second would hold a send for ever. Shutting the socket down makes the blocked read
    return at once, in whatever state the response is.
    """

    def __init__(self):
        self._heap = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread = None

    def watch(self, send):
        with self._wake:
            heapq.heappush(self._heap, (send.deadline, next(self._order), send))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="hookline-send-deadline", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is send:
                self._wake.notify()

    def _run(self):
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                deadline, _, send = self._heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
            if not send.finished:
                send.fired = True
                _shut(send.connection)


def _shut(connection):
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        # The plain socket's shutdown: an SSLSocket's own would drop its TLS state under the
        # thread reading from it.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


_watchdog = _Watchdog()
_current = threading.local()


def _attach(connection):
    """Tie the connection to the send running in this thread (see _Watchdog)."""
    send = getattr(_current, "send", None)
    if send is None:
        return
    send.connection = connection
    if send.fired:
        raise TimeoutError("deadline passed")


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self):
        _attach(self)
        super().connect()

    def request(self, *args, **kwargs):
        _attach(self)
        return super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self):
        _attach(self)
        super().connect()

    def request(self, *args, **kwargs):
        _attach(self)
        return super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def pools():
    """This process's connection pools (one per address, port and TLS name), made once."""
    global _manager
    with _lock:
        if _manager is None:
            manager = PoolManager(
                num_pools=POOLS_KEPT,
                maxsize=CONNECTIONS_PER_POOL,
                block=False,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                ca_certs=certifi.where(),
            )
            manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
            _manager = manager
        return _manager


class _Inline:
    """An executor that runs each call at once in the calling thread."""

    def submit(self, fn, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, as a pool does
            future.set_exception(exc)
        return future


def send_pool(width):
    """This process's executor for `width` concurrent sends (threads made once, on first use);
    width 1 sends in the calling thread."""
    if width <= 1:
        return _Inline()
    with _lock:
        if width not in _send_pools:
            _send_pools[width] = ThreadPoolExecutor(width, thread_name_prefix="hookline-send")
        return _send_pools[width]


# Sending ---------------------------------------------------------------------------------

class _Refused(Exception):
    """Stopped before sending; the message is the attempt's error text."""


def _pin(url, allow_private):
    """The address to connect to, checked against the address rule now."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allow_private:
        return host
    try:
        addresses = url_safety.resolve_checked(host, port, allow_private=False)
    except url_safety.UrlRejected as exc:
        if "does not resolve" in str(exc):
            raise _Refused(f"DNS lookup failed for {host}") from exc
        raise _Refused(f"Blocked address: {exc}") from exc
    return addresses[0]


def _host_header(parts):
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _chain(exc):
    chain, current = [], exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
        if current is None and chain[-1].args and isinstance(chain[-1].args[0], BaseException):
            current = chain[-1].args[0]
    return chain


def _tls_reason(chain, exc):
    for error in chain:
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {error.verify_message}"
        if isinstance(error, ssl.SSLError) and error.reason:
            return error.reason.lower().replace("_", " ")
        if isinstance(error, ssl.CertificateError):
            return str(error)
    return str(exc)


def describe(exc, timeout, host):
    """A short, clear text for a failed send."""
    chain = _chain(exc)
    if isinstance(exc, UnicodeEncodeError):
        return "A header value has characters that cannot be sent in HTTP (only Latin-1)"
    if any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain):
        return f"DNS lookup failed for {host}"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "Connection refused"
    # urllib3's NewConnectionError is a ConnectTimeoutError: only real timeouts count.
    if not isinstance(exc, NewConnectionError) and any(
        isinstance(e, TimeoutError | ReadTimeoutError | Urllib3Timeout) for e in chain
    ):
        return f"Timed out after {timeout} s"
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain):
        return f"TLS error: {_tls_reason(chain, exc)}"[:300]
    if any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain):
        return "Connection reset"
    if any(isinstance(e, ProtocolError | HTTPException) for e in chain):
        return f"Invalid HTTP response: {str(chain[-1]).strip()}"[:300]
    return f"Connection failed: {exc.__class__.__name__}"


def _kept_headers(headers):
    kept = {}
    for name, value in list(headers.items())[:RESPONSE_HEADERS_KEPT]:
        kept[storable(name)] = storable(value[:RESPONSE_HEADER_VALUE_LIMIT])
    return kept


def post(url, body, headers, *, timeout, allow_private, address=None):
    """POST body to url and return an Outcome; never raises for network trouble.

    The host is resolved once and every address checked (unless private targets are
    allowed, or `address` names the one to dial); the connection goes to that address with
    the URL's hostname for the Host header and TLS. Connecting, sending and reading the
    response all end by one deadline, `timeout` seconds after the start. Redirects are
    failures; at most RESPONSE_BODY_LIMIT bytes of the body are read.
    """
    started = time.monotonic()
    send = _Send(started + timeout)
    parts = urlsplit(url)
    host = parts.hostname or ""
    outcome = None
    _watchdog.watch(send)
    _current.send = send
    try:
        address = address or _pin(url, allow_private)
        outcome = _post(parts, address, body, headers, timeout, send)
    except _Refused as exc:
        outcome = Outcome(error=str(exc))
    except (Urllib3Error, HTTPException, OSError, ValueError) as exc:
        error = f"Timed out after {timeout} s" if send.fired else describe(exc, timeout, host)
        outcome = Outcome(error=error, remote_address=address)
    finally:
        send.finished = True
        _current.send = None
    if send.fired and outcome.error is None:
        # The deadline cut the body short: the response is not what the receiver sent.
        outcome = Outcome(error=f"Timed out after {timeout} s", remote_address=address)
    outcome.timed_out = outcome.error is not None and outcome.error.startswith("Timed out")
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


def _post(parts, address, body, headers, timeout, send):
    scheme = parts.scheme
    port = parts.port or (443 if scheme == "https" else 80)
    pool_kwargs = {}
    if scheme == "https":
        pool_kwargs = {"server_hostname": parts.hostname, "assert_hostname": parts.hostname}
    pool = pools().connection_from_host(address, port, scheme, pool_kwargs=pool_kwargs)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    response = pool.urlopen(
        "POST", target, body=body, headers={**headers, "Host": _host_header(parts)},
        redirect=False, retries=False, assert_same_host=False, preload_content=False,
        timeout=Timeout(connect=timeout, read=timeout),
    )
    reusable = False
    try:
        raw = response.read(RESPONSE_BODY_LIMIT + 1, decode_content=True) or b""
        truncated = len(raw) > RESPONSE_BODY_LIMIT
        reusable = not truncated and not send.fired
    finally:
        if not reusable:
            response.close()
        response.release_conn()
    outcome = Outcome(
        status=response.status,
        headers=_kept_headers(response.headers),
        body=storable(raw[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")),
        remote_address=address,
        truncated=truncated,
    )
    if 300 <= response.status < 400:
        location = storable(response.headers.get("Location", ""))[:500]
        outcome.error = f"Redirect to {location or '(no location)'} not followed"
    return outcome
