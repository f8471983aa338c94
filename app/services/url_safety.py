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


# Every block of the IANA IPv4 and IPv6 Special-Purpose Address Registries is refused,
# whatever its "globally reachable" column says: the reachable ones are anycast services
# (PCP, TURN, AMT, AS112, DNS-SD), identifiers (ORCHID, DETs) and translation prefixes
# (NAT64, 6to4, Teredo), answered by nearby networks or by whatever address they wrap,
# and never a webhook receiver. Python's own ipaddress tables lag the registries (they
# pass 192.0.0.8, 192.88.99.1 and 3fff::1, for one), so the blocks are listed here.
SPECIAL_PURPOSE = {
    ipaddress.ip_network(block): name for block, name in (
        ("0.0.0.0/8", '"This network"'),
        ("0.0.0.0/32", '"This host on this network"'),
        ("10.0.0.0/8", "Private-Use"),
        ("100.64.0.0/10", "Shared Address Space"),
        ("127.0.0.0/8", "Loopback"),
        ("169.254.0.0/16", "Link Local"),
        ("172.16.0.0/12", "Private-Use"),
        ("192.0.0.0/24", "IETF Protocol Assignments"),
        ("192.0.0.0/29", "IPv4 Service Continuity Prefix"),
        ("192.0.0.8/32", "IPv4 dummy address"),
        ("192.0.0.9/32", "Port Control Protocol Anycast"),
        ("192.0.0.10/32", "Traversal Using Relays around NAT Anycast"),
        ("192.0.0.170/32", "NAT64/DNS64 Discovery"),
        ("192.0.0.171/32", "NAT64/DNS64 Discovery"),
        ("192.0.2.0/24", "Documentation (TEST-NET-1)"),
        ("192.31.196.0/24", "AS112-v4"),
        ("192.52.193.0/24", "AMT"),
        ("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)"),
        ("192.88.99.2/32", "6a44-relay anycast address"),
        ("192.168.0.0/16", "Private-Use"),
        ("192.175.48.0/24", "Direct Delegation AS112 Service"),
        ("198.18.0.0/15", "Benchmarking"),
        ("198.51.100.0/24", "Documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "Documentation (TEST-NET-3)"),
        ("240.0.0.0/4", "Reserved"),
        ("255.255.255.255/32", "Limited Broadcast"),
        ("::1/128", "Loopback Address"),
        ("::/128", "Unspecified Address"),
        ("::ffff:0:0/96", "IPv4-mapped Address"),
        ("64:ff9b::/96", "IPv4-IPv6 Translation"),
        ("64:ff9b:1::/48", "IPv4-IPv6 Translation (local use)"),
        ("100::/64", "Discard-Only Address Block"),
        ("100:0:0:1::/64", "Dummy IPv6 Prefix"),
        ("2001::/23", "IETF Protocol Assignments"),
        ("2001::/32", "TEREDO"),
        ("2001:1::1/128", "Port Control Protocol Anycast"),
        ("2001:1::2/128", "Traversal Using Relays around NAT Anycast"),
        ("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast"),
        ("2001:2::/48", "Benchmarking"),
        ("2001:3::/32", "AMT"),
        ("2001:4:112::/48", "AS112-v6"),
        ("2001:10::/28", "Deprecated (previously ORCHID)"),
        ("2001:20::/28", "ORCHIDv2"),
        ("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix"),
        ("2001:db8::/32", "Documentation"),
        ("2002::/16", "6to4"),
        ("2620:4f:8000::/48", "Direct Delegation AS112 Service"),
        ("3fff::/20", "Documentation"),
        ("5f00::/16", "Segment Routing (SRv6) SIDs"),
        ("fc00::/7", "Unique-Local"),
        ("fe80::/10", "Link-Local Unicast"),
    )
}
# The only IPv6 space allocated for global unicast; the rest (fec0::/10 site-local,
# feff::, ff00::/8 multicast …) is reserved or special, so it is refused by default.
IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
IPV4_MULTICAST = ipaddress.ip_network("224.0.0.0/4")
HTTP_SETTING = "WEBHOOK_ALLOW_HTTP"
PRIVATE_SETTING = "WEBHOOK_ALLOW_PRIVATE_TARGETS"


class UrlRejected(ValueError):
    """A URL or address was refused; the message is meant for the user. `allowance` names
    the development setting that would allow it (None when none would)."""

    def __init__(self, message, allowance=None):
        super().__init__(message)
        self.allowance = allowance


def _as_ip(ip):
    return ip if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address) else (
        ipaddress.ip_address(str(ip).split("%", 1)[0])
    )


def special_purpose(address):
    """The registry name of the most specific special-purpose block holding the address
    (or "Multicast", or "outside IPv6 global unicast"), else None."""
    found = [network for network in SPECIAL_PURPOSE
             if network.version == address.version and address in network]
    if found:
        return SPECIAL_PURPOSE[max(found, key=lambda network: network.prefixlen)]
    if address.version == 4 and address in IPV4_MULTICAST:
        return "Multicast"
    if address.version == 6 and address not in IPV6_GLOBAL_UNICAST:
        return "outside IPv6 global unicast"
    return None


def _described(address):
    """'192.0.0.8, IPv4 dummy address': the address and the block that refuses it."""
    name = special_purpose(address)
    return f"{address}, {name}" if name else str(address)


def is_blocked_ip(ip) -> bool:
    """True for any address that is not an ordinary public unicast address (IPv4 or IPv6):
    every IANA special-purpose block, multicast, and IPv6 outside 2000::/3."""
    try:
        address = _as_ip(ip)
    except ValueError:
        return True
    if special_purpose(address) is not None:
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


def default_port(scheme):
    """The port a URL of this scheme names when it names none."""
    return 443 if scheme == "https" else 80


def is_ip_literal(host):
    """Whether a URL's host is an IP address written out (nothing to look up)."""
    return _literal_ip(host) is not None


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
            raise UrlRejected(BLOCKED_MESSAGE.format(address=_described(literal)),
                              PRIVATE_SETTING)
        return [str(literal)]
    if not allow_private and _is_local_name(host):
        raise UrlRejected(BLOCKED_MESSAGE.format(address=host), PRIVATE_SETTING)
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
                    "private, link-local, multicast, unspecified and reserved addresses are "
                    "refused", PRIVATE_SETTING,
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


def host_and_port(parts):
    """`host[:port]` of a split URL as HTTP writes it (the Host header, an origin): an IPv6
    address in brackets, the scheme's default port left out."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port in (None, default_port(parts.scheme)):
        return host
    return f"{host}:{parts.port}"


def origin(url):
    """`scheme://host[:port]` of a URL: where it points, without the path, query or user
    part, which often hold its credential (a chat or automation webhook's URL is its key).
    A URL that cannot be read gives ''."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- a port out of range raises here
    except (TypeError, ValueError):
        return ""
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return ""
    return f"{parts.scheme}://{host_and_port(parts)}"


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
        raise UrlRejected("URL must use HTTPS", HTTP_SETTING)
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
            resolve_checked(host, port or default_port(scheme), allow_private=False)
        except UrlRejected as exc:
            if "does not resolve" not in str(exc):
                raise
    return url
