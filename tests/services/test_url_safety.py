"""The address rule: every refused spelling, and what the development allowances let through."""
import socket

import pytest

from app.services.url_safety import (
    UrlRejected,
    is_blocked_ip,
    origin,
    resolve_checked,
    validate_url,
)

BLOCKED_HOSTS = [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.1.1",
    "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.254", "224.0.0.1",
    "239.255.255.250", "0.0.0.0", "240.0.0.1", "255.255.255.255", "192.0.2.1",
    "[::1]", "[::]", "[fc00::1]", "[fd12:3456::1]", "[fe80::1]", "[ff02::1]",
    "[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "[::ffff:169.254.169.254]",
    "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[2001:db8::1]",
    "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "017700000001",
    "localhost", "localhost.", "api.localhost", "LOCALHOST",
]


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
def test_blocked_hosts_are_refused_with_the_rule_off(host):
    with pytest.raises(UrlRejected, match="blocked address"):
        validate_url(f"https://{host}/hook", allow_http=False, allow_private=False)


def test_hostname_that_resolves_to_loopback_is_refused():
    # The machine's own name resolves locally (from /etc/hosts) to a loopback address.
    name = socket.gethostname()
    addresses = {info[4][0] for info in socket.getaddrinfo(name, 443)}
    assert any(is_blocked_ip(address) for address in addresses)
    with pytest.raises(UrlRejected, match="resolves to a blocked address"):
        validate_url(f"https://{name}/x", allow_http=False, allow_private=False)
    with pytest.raises(UrlRejected, match="resolves to a blocked address"):
        resolve_checked(name, 443, allow_private=False)


@pytest.mark.parametrize("url", [
    "https://93.184.215.14/hook", "https://93.184.215.14:8443/a?b=c",
    "https://[2606:2800:220:1:248:1893:25c8:1946]/hook", "https://1.1.1.1",
])
def test_public_addresses_pass(url):
    assert validate_url(url, allow_http=False, allow_private=False) == url


@pytest.mark.parametrize(("url", "message"), [
    ("http://93.184.215.14/hook", "URL must use HTTPS"),
    ("https://user:pass@93.184.215.14/", "must not contain a username or password"),
    ("https://user@93.184.215.14/", "must not contain a username or password"),
    ("ftp://93.184.215.14/", "absolute https:// URL"),
    ("/relative/path", "absolute https:// URL"),
    ("https://", "absolute https:// URL"),
    ("", "URL is required"),
    ("   ", "URL is required"),
    ("https://93.184.215.14/" + "a" * 2048, "at most 2048 characters"),
    ("https://93.184.215.14/a b", "must not contain spaces"),
    ("https://93.184.215.14/\r\nX: y", "control characters"),
    ("https://93.184.215.14:99999/", "check the host and port"),
    ("https://exa_mple..com/", "not a valid hostname"),
])
def test_malformed_urls_are_refused(url, message):
    with pytest.raises(UrlRejected, match=message):
        validate_url(url, allow_http=False, allow_private=False)


def test_non_string_url_is_refused():
    with pytest.raises(UrlRejected, match="URL is required"):
        validate_url(12, allow_http=False, allow_private=False)


def test_development_allowances_let_http_and_private_through():
    assert validate_url("http://127.0.0.1:8080/x", allow_http=True, allow_private=True)
    with pytest.raises(UrlRejected, match="HTTPS"):
        validate_url("http://127.0.0.1:8080/x", allow_http=False, allow_private=True)
    with pytest.raises(UrlRejected, match="blocked"):
        validate_url("http://127.0.0.1:8080/x", allow_http=True, allow_private=False)
    assert resolve_checked("localhost", 80, allow_private=True) == ["127.0.0.1"]


def test_resolve_checked_returns_literal_addresses_without_lookup():
    assert resolve_checked("93.184.215.14", 443, allow_private=False) == ["93.184.215.14"]
    assert resolve_checked("0x7f.1", 80, allow_private=True) == ["127.0.0.1"]
    with pytest.raises(UrlRejected, match="blocked address"):
        resolve_checked("0x7f.1", 80, allow_private=False)


@pytest.mark.parametrize(("ip", "blocked"), [
    ("93.184.215.14", False), ("8.8.8.8", False), ("2606:4700::1111", False),
    ("127.0.0.1", True), ("::ffff:192.168.0.1", True), ("100.64.1.1", True),
    ("fe80::1%eth0", True), ("not-an-ip", True),
])
def test_is_blocked_ip(ip, blocked):
    assert is_blocked_ip(ip) is blocked


@pytest.mark.parametrize(("url", "expected"), [
    ("https://hooks.example.com/services/T0/B0/s3cret?token=x#f", "https://hooks.example.com"),
    ("HTTPS://Hooks.Example.com:8443/a", "https://hooks.example.com:8443"),
    ("http://user:pass@10.0.0.5:8080/p", "http://10.0.0.5:8080"),
    ("https://[2001:db8::1]:9000/x", "https://[2001:db8::1]:9000"),
    ("https://example.com:99999/x", ""),
    ("ftp://example.com/x", ""),
    ("not a url", ""),
])
def test_origin_keeps_where_a_url_points_and_nothing_of_its_path(url, expected):
    assert origin(url) == expected
