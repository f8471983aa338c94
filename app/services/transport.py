"""The one HTTP client: pinned and checked addresses, no redirects, a timeout, a 4 KB cap."""
import socket
import ssl
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError, ProtocolError, ReadTimeoutError

from . import url_safety

RESPONSE_BODY_LIMIT = 4096

_session = None
_session_lock = threading.Lock()
_pools = {}


@dataclass
class Outcome:
    """What one POST gave: a status and response, or the error that stopped it."""

    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: str = ""
    error: str | None = None
    duration_ms: int = 0
    remote_address: str | None = None

    @property
    def ok(self):
        return self.error is None and self.status is not None and 200 <= self.status < 300


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to the address checked before sending, keeping the hostname for TLS.

    The prepared request carries `pinned_ip`; the pool is keyed by that address while SNI
    and the certificate check still use the URL's hostname, so DNS cannot change the
    target between the check and the connection.
    """

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        pinned = getattr(request, "pinned_ip", None)
        if pinned:
            hostname = host_params["host"]
            host_params = {**host_params, "host": pinned}
            if host_params["scheme"] == "https":
                pool_kwargs = {
                    **pool_kwargs,
                    "server_hostname": hostname,
                    "assert_hostname": hostname,
                }
        return host_params, pool_kwargs


def session():
    """This process's pooled session, created on first use."""
    global _session
    with _session_lock:
        if _session is None:
            created = requests.Session()
            created.trust_env = False  # never route deliveries through an environment proxy
            # Receivers' cookies are never sent anywhere: do not keep them.
            created.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            adapter = PinnedAddressAdapter(pool_connections=50, pool_maxsize=50, max_retries=0)
            created.mount("http://", adapter)
            created.mount("https://", adapter)
            _session = created
        return _session


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
    with _session_lock:
        if width not in _pools:
            _pools[width] = ThreadPoolExecutor(width, thread_name_prefix="hookline-send")
        return _pools[width]


class _Refused(Exception):
    """Stopped before sending; the message is the attempt's error text."""


def _pin(url, allow_private):
    """The address to connect to, checked against the address rule now, or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allow_private:
        return host, None
    try:
        addresses = url_safety.resolve_checked(host, port, allow_private=False)
    except url_safety.UrlRejected as exc:
        if "does not resolve" in str(exc):
            raise _Refused(f"DNS lookup failed for {host}") from exc
        raise _Refused(f"Blocked address: {exc}") from exc
    return host, addresses[0]


def _host_header(url):
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _tls_reason(chain, exc):
    for error in chain:
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {error.verify_message}"
        if isinstance(error, ssl.SSLError) and error.reason:
            return error.reason.lower().replace("_", " ")
        if isinstance(error, ssl.CertificateError):
            return str(error)
    return str(exc)


def _describe(exc, timeout, host):
    """A short, clear text for a failed send."""
    chain = []
    current = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
        if current is None and chain[-1].args and isinstance(chain[-1].args[0], BaseException):
            current = chain[-1].args[0]
    if isinstance(exc, requests.Timeout) or any(
        isinstance(e, TimeoutError | ReadTimeoutError) for e in chain
    ):
        return f"Timed out after {timeout} s"
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain
    ):
        return f"TLS error: {_tls_reason(chain, exc)}"[:300]
    if any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain):
        return f"DNS lookup failed for {host}"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "Connection refused"
    if any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain):
        return "Connection reset"
    if any(isinstance(e, ProtocolError) for e in chain) or isinstance(
        exc, requests.exceptions.ChunkedEncodingError
    ):
        return f"Invalid HTTP response: {str(chain[-1]).strip()}"[:300]
    return f"Connection failed: {exc.__class__.__name__}"


def post(url, body, headers, *, timeout, allow_private):
    """POST body to url and return an Outcome; never raises for network trouble.

    The host is resolved once and every address checked (unless private targets are
    allowed); the connection goes to the checked address. Redirects are failures and
    at most RESPONSE_BODY_LIMIT bytes of the response body are read.
    """
    started = time.monotonic()
    host = urlsplit(url).hostname or ""
    try:
        outcome = _post(url, body, headers, timeout=timeout, allow_private=allow_private)
    except _Refused as exc:
        outcome = Outcome(error=str(exc))
    except (requests.RequestException, Urllib3Error, OSError) as exc:
        # Reading the body goes through urllib3 directly: its errors (a receiver that
        # stops after the headers times out here) are not wrapped by requests.
        outcome = Outcome(error=_describe(exc, timeout, host))
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


def _post(url, body, headers, *, timeout, allow_private):
    host, pinned_ip = _pin(url, allow_private)
    prepared = requests.Request(
        "POST", url, data=body, headers={**headers, "Host": _host_header(url)}
    ).prepare()
    prepared.pinned_ip = pinned_ip
    response = session().send(
        prepared, timeout=(timeout, timeout), allow_redirects=False, stream=True
    )
    try:
        raw = response.raw.read(RESPONSE_BODY_LIMIT, decode_content=True) or b""
    finally:
        response.close()
    outcome = Outcome(
        status=response.status_code,
        headers=dict(response.headers),
        body=raw.decode("utf-8", errors="replace"),
        remote_address=pinned_ip or host,
    )
    if response.is_redirect or 300 <= response.status_code < 400:
        location = response.headers.get("Location", "")
        outcome.error = f"Redirect to {location or '(no location)'} not followed"
    return outcome
