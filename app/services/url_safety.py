"""The address rule of SPEC §3: which URLs and IP addresses Hookline may send to."""
import ipaddress
import re
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
BLOCKED_MESSAGE = (
    "URL points to a blocked address ({address}): loopback, private, link-local, "
    "multicast, unspecified and reserved addresses are refused"
)
# inet_aton() spellings: 1 to 4 dot-separated parts, each decimal, octal (0…) or hex (0x…).
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)
_HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$", re.I)
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class UrlRejected(ValueError):
    """A URL or address was refused; the message is meant for the user."""


def _as_ip(ip):
    return ip if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address) else (
        ipaddress.ip_address(str(ip).split("%", 1)[0])
    )


def is_blocked_ip(ip) -> bool:
    """True for any address that is not a public unicast address (IPv4 or IPv6)."""
    try:
        address = _as_ip(ip)
    except ValueError:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and is_blocked_ip(embedded):
            return True
        if address.teredo is not None:
            return True
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
    )


def _numeric_ipv4(host):
    """The address of an inet_aton() spelling (2130706433, 0177.0.0.1, 0x7f.1), else None."""
    if not _NUMERIC_HOST.match(host):
        return None
    parts = host.rstrip(".").split(".")
    try:
        values = [int(p, 16) if p.lower().startswith("0x") else int(p, 8) if (
            len(p) > 1 and p.startswith("0")) else int(p) for p in parts]
    except ValueError:
        return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = 0
    for value in head:
        number = number * 256 + value
    number = number * 256 ** (5 - len(values)) + last
    return ipaddress.IPv4Address(number)


def _literal_ip(host):
    """The IP a host spells literally (any IPv4 spelling, bracket-free IPv6), else None."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return _numeric_ipv4(host)


def _is_local_name(host):
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def resolve_checked(host, port, *, allow_private) -> list[str]:
    """Resolve a host to the IP strings to connect to; UrlRejected if it does not
    resolve or if any address is blocked (unless private targets are allowed)."""
    literal = _literal_ip(host)
    if literal is not None:
        if not allow_private and is_blocked_ip(literal):
            raise UrlRejected(BLOCKED_MESSAGE.format(address=literal))
        return [str(literal)]
    if not allow_private and _is_local_name(host):
        raise UrlRejected(BLOCKED_MESSAGE.format(address=host))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UrlRejected(f"Host {host} does not resolve") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UrlRejected(f"Host {host} does not resolve")
    if not allow_private:
        for address in addresses:
            if is_blocked_ip(address):
                raise UrlRejected(
                    f"URL host {host} resolves to a blocked address ({address}): loopback, "
                    "private, link-local, multicast, unspecified and reserved addresses are refused"
                )
    return addresses


def _check_hostname(host):
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise UrlRejected("URL host is not a valid hostname") from exc
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise UrlRejected("URL host is not a valid hostname")


def validate_url(url, *, allow_http, allow_private) -> str:
    """Check an endpoint URL against SPEC §3 and return it (trimmed); raises UrlRejected.

    A hostname that resolves is refused if any of its addresses is blocked; one that does
    not resolve now is accepted, because every send checks the address again.
    """
    if not isinstance(url, str) or not url.strip():
        raise UrlRejected("URL is required")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UrlRejected(f"URL must be at most {MAX_URL_LENGTH} characters")
    if _FORBIDDEN_CHARS.search(url):
        raise UrlRejected("URL must not contain spaces, backslashes or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRejected("URL is not valid: check the host and port") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise UrlRejected("URL must be an absolute https:// URL with a host")
    if scheme == "http" and not allow_http:
        raise UrlRejected("URL must use HTTPS")
    if "@" in parts.netloc:
        raise UrlRejected("URL must not contain a username or password")
    host = parts.hostname or ""
    if not host:
        raise UrlRejected("URL must be an absolute https:// URL with a host")
    if port == 0:
        raise UrlRejected("URL is not valid: check the host and port")
    if _literal_ip(host) is None:
        _check_hostname(host)
    if not allow_private:
        try:
            resolve_checked(host, port or (443 if scheme == "https" else 80), allow_private=False)
        except UrlRejected as exc:
            if "does not resolve" not in str(exc):
                raise
    return url
