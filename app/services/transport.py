"""The one HTTP client: pinned and checked addresses, no redirects, an absolute deadline per
send, and a cap on what is read of the response.

Every send of a process runs on one event loop in a thread of its own (aiohttp, one session
with a keep-alive pool per address, port and TLS name): a receiver that answers slowly or
never holds a socket and nothing else, and quick sends cost no handoffs of the interpreter
lock between threads (with a thread per send, those cost more CPU than the sends).
`submit` hands a send to the loop and returns a Future of its Outcome; `post` waits for it.
"""
import asyncio
import atexit
import errno
import logging
import os
import socket
import ssl
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException
from urllib.parse import urlsplit

import aiohttp
import certifi
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from . import url_safety

log = logging.getLogger(__name__)

# What is read of a response body; the rest is never read and the connection is dropped.
RESPONSE_BODY_LIMIT = 64 * 1024
# Response headers kept for history: how many, and how long each value may be.
RESPONSE_HEADERS_KEPT = 64
RESPONSE_HEADER_VALUE_LIMIT = 1024
# An idle keep-alive connection is closed after this long.
KEEPALIVE_SECONDS = 15
# Threads for name lookups, which block: they run beside the loop, never on it. As many as
# sends a process may have in flight, so a name slow to resolve holds its own send and no
# other's (threads are made only as lookups need them).
LOOKUP_THREADS = 64
# Headers aiohttp would add of its own; a send carries only what the request names (and
# Host and Content-Length).
_NOT_ADDED = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})


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


# Header bytes --------------------------------------------------------------------------

class _Latin1Writer(aiohttp.http_writer.StreamWriter):
    """Header lines in Latin-1, as HTTP has them and as http.client writes them.

    aiohttp writes them in UTF-8 (aio-libs/aiohttp#7943): a value an organization saved as
    "Sécurité" would arrive as "SÃ©curitÃ©". Values are checked to be Latin-1 before a send;
    aiohttp's own checks (no line breaks) run first, then the bytes are made again.
    """

    async def write_headers(self, status_line, headers):
        await super().write_headers(status_line, headers)
        if not all(value.isascii() for value in headers.values()):
            lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            self._headers_buf = f"{status_line}\r\n{lines}\r\n".encode("latin-1")


# aiohttp's client makes each request's writer from this name; nothing else in a Hookline
# process sends with aiohttp.
aiohttp.client_reqrep.StreamWriter = _Latin1Writer


# The loop ------------------------------------------------------------------------------

class _Loop:
    """This process's event loop, its thread and its aiohttp session, made on first use (and
    again in a forked child, where the parent's thread does not run, or should the thread
    ever have ended)."""

    def __init__(self):
        self.pid = None
        self.thread = None
        self.loop = None
        self.session = None
        self.lookups = None

    def running(self):
        with _lock:
            if self.pid != os.getpid() or not self.thread.is_alive():
                self._start()
            return self

    def _start(self):
        loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=loop.run_forever, name="hookline-send", daemon=True)
        self.thread.start()
        self.lookups = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="hookline-lookup")
        self.session = asyncio.run_coroutine_threadsafe(_session(), loop).result()
        self.loop, self.pid = loop, os.getpid()
        atexit.register(self._close, loop, self.session, self.pid)

    @staticmethod
    def _close(loop, session, pid):
        """Close the session's connections as the process ends."""
        if pid != os.getpid() or loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=2)
        except Exception:  # the process is ending either way
            pass
        loop.call_soon_threadsafe(loop.stop)


async def _session():
    tls = ssl.create_default_context(cafile=certifi.where())
    connector = aiohttp.TCPConnector(
        limit=0, ssl=tls, keepalive_timeout=KEEPALIVE_SECONDS, enable_cleanup_closed=True
    )
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None), auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=_NOT_ADDED,
    )


_lock = threading.Lock()
_loop = _Loop()


def session():
    """This process's one HTTP session (made once)."""
    return _loop.running().session


# Sending ---------------------------------------------------------------------------------

class _Refused(Exception):
    """Stopped before sending; the message is the attempt's error text."""


def _port(parts):
    return parts.port or url_safety.default_port(parts.scheme)


def _pin(parts, allow_private):
    """The address to connect to (for a split URL), checked against the address rule now."""
    host = parts.hostname or ""
    if allow_private:
        return host
    try:
        addresses = url_safety.resolve_checked(host, _port(parts), allow_private=False)
    except url_safety.UrlRejected as exc:
        if "does not resolve" in str(exc):
            raise _Refused(f"DNS lookup failed for {host}") from exc
        raise _Refused(f"Blocked address: {exc}") from exc
    return addresses[0]


def _chain(exc):
    chain, current = [], exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
        if current is None:  # a wrapper that holds its cause among its arguments
            current = next((a for a in chain[-1].args if isinstance(a, BaseException)), None)
    return chain


def _tls_reason(chain, exc):
    for error in chain:
        if isinstance(error, aiohttp.ClientError):
            continue  # aiohttp's wrapper of the error below it
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
    if any(isinstance(e, socket.gaierror | aiohttp.ClientConnectorDNSError) for e in chain):
        return f"DNS lookup failed for {host}"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "Connection refused"
    if any(isinstance(e, TimeoutError) for e in chain):
        return f"Timed out after {timeout} s"
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain):
        return f"TLS error: {_tls_reason(chain, exc)}"[:300]
    if any(
        isinstance(e, ConnectionResetError | BrokenPipeError | aiohttp.ServerDisconnectedError)
        or (isinstance(e, OSError) and e.errno in (errno.ECONNRESET, errno.EPIPE))
        for e in chain
    ):
        return "Connection reset"
    for error in chain:
        if isinstance(error, HttpProcessingError):
            return f"Invalid HTTP response: {_one_line(error.message)}"[:300]
        if isinstance(error, aiohttp.ClientResponseError | aiohttp.ClientPayloadError
                      | HTTPException):
            text = getattr(error, "message", None) or str(error)
            return f"Invalid HTTP response: {_one_line(text)}"[:300]
    for error in chain:
        if isinstance(error, OSError) and error.strerror:
            # What the system said: "Network is unreachable", "Too many open files", …
            return f"Connection failed: {_one_line(error.strerror)}"[:300]
    return f"Connection failed: {exc.__class__.__name__}"


def _kept_headers(headers):
    kept = {}
    for name, value in list(headers.items())[:RESPONSE_HEADERS_KEPT]:
        kept[_header_text(name)] = _header_text(value[:RESPONSE_HEADER_VALUE_LIMIT])
    return kept


def _header_text(text):
    """A response header as the receiver meant it: aiohttp reads header bytes as UTF-8 and
    keeps what is not UTF-8 as escapes; those bytes are Latin-1, as HTTP has them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            text = text.encode("utf-8", "surrogateescape").decode("latin-1")
        except UnicodeEncodeError:
            pass  # not escapes: storable() replaces them
    return storable(text)


def _one_line(text):
    """aiohttp's parser errors end with the bad line and a caret under it, on lines of their
    own: one line, without the caret."""
    lines = [line.strip() for line in str(text).splitlines()]
    return " ".join(line for line in lines if line and set(line) != {"^"})


def submit(url, body, headers, *, timeout, allow_private, address=None):
    """Start a POST of body to url on this process's send loop; a Future of its Outcome.

    The host is resolved and every address checked (unless private targets are allowed, or
    `address` names the one to dial); the connection goes to that address with the URL's
    hostname for the Host header and TLS. Resolving, connecting, sending and reading the
    response all end by one deadline, `timeout` seconds after the start. Redirects are
    failures; at most RESPONSE_BODY_LIMIT bytes of the body are read. The Outcome says what
    went wrong; the Future never holds an exception.
    """
    running = _loop.running()
    return asyncio.run_coroutine_threadsafe(
        _send(running, url, body, headers, timeout, allow_private, address), running.loop
    )


def post(url, body, headers, *, timeout, allow_private, address=None):
    """POST body to url and wait for its Outcome (see `submit`); never raises for network
    trouble."""
    return submit(url, body, headers, timeout=timeout, allow_private=allow_private,
                  address=address).result()


def done(outcome):
    """A Future that holds this Outcome already (a send that was never started)."""
    future = Future()
    future.set_result(outcome)
    return future


async def _send(running, url, body, headers, timeout, allow_private, address):
    started = time.monotonic()
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        async with asyncio.timeout(timeout):
            if address is None:
                address = await _pinned(running, parts, allow_private)
            outcome = await _exchange(running.session, parts, address, body, headers)
    except _Refused as exc:
        outcome = Outcome(error=str(exc))
    except TimeoutError:
        outcome = Outcome(error=f"Timed out after {timeout} s", remote_address=address)
    except (aiohttp.ClientError, HttpProcessingError, HTTPException, OSError, ValueError) as exc:
        outcome = Outcome(error=describe(exc, timeout, host), remote_address=address)
    except Exception as exc:  # one send's surprise must not stop the loop's others
        log.exception("Sending to %s failed unexpectedly", host)
        outcome = Outcome(error=f"Send failed: {exc.__class__.__name__}", remote_address=address)
    outcome.timed_out = outcome.error is not None and outcome.error.startswith("Timed out")
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


async def _pinned(running, parts, allow_private):
    """_pin, with a name looked up in a lookup thread (a literal address needs none)."""
    if allow_private or url_safety.is_ip_literal(parts.hostname or ""):
        return _pin(parts, allow_private)
    return await asyncio.get_running_loop().run_in_executor(
        running.lookups, _pin, parts, allow_private
    )


async def _exchange(session, parts, address, body, headers):
    for name, value in headers.items():
        name.encode("latin-1")
        value.encode("latin-1")
    scheme = parts.scheme
    port = _port(parts)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    dial = f"[{address}]" if ":" in address else address
    options = {"server_hostname": parts.hostname} if scheme == "https" else {}
    async with session.post(
        URL(f"{scheme}://{dial}:{port}{target}", encoded=True), data=body,
        headers={**headers, "Host": url_safety.host_and_port(parts)}, allow_redirects=False,
        **options,
    ) as response:
        raw = await _read_at_most(response.content, RESPONSE_BODY_LIMIT + 1)
        truncated = len(raw) > RESPONSE_BODY_LIMIT
        if truncated:
            response.close()  # the rest is never read: the connection is not used again
        outcome = Outcome(
            status=response.status,
            headers=_kept_headers(response.headers),
            body=storable(raw[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")),
            remote_address=address,
            truncated=truncated,
        )
    if 300 <= outcome.status < 400:
        location = storable(response.headers.get("Location", ""))[:500]
        outcome.error = f"Redirect to {location or '(no location)'} not followed"
    return outcome


async def _read_at_most(stream, limit):
    chunks, size = [], 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
