"""Every block of the IANA special-purpose address registries is refused, at its first,
middle and last address, as are the seven addresses that used to be saved as endpoint
URLs. The entries are copied here from the registries (iana-ipv4-special-registry,
iana-ipv6-special-registry), apart from the code's own table, so each is checked
against the code rather than against itself."""
import ipaddress

import pytest

from app.services.url_safety import UrlRejected, is_blocked_ip, resolve_checked, validate_url

# (address block, name): the IANA IPv4 Special-Purpose Address Registry.
IPV4_REGISTRY = [
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
]
# (address block, name): the IANA IPv6 Special-Purpose Address Registry.
IPV6_REGISTRY = [
    ("::1/128", "Loopback Address"),
    ("::/128", "Unspecified Address"),
    ("::ffff:0:0/96", "IPv4-mapped Address"),
    ("64:ff9b::/96", "IPv4-IPv6 Translat."),
    ("64:ff9b:1::/48", "IPv4-IPv6 Translat."),
    ("100::/64", "Discard-Only Address Block"),
    ("100:0:0:1::/64", "Dummy IPv6 Prefix"),
    ("2001::/23", "IETF Protocol Assignments"),
    ("2001::/32", "TEREDO"),
    ("2001:1::1/128", "Port Control Protocol Anycast"),
    ("2001:1::2/128", "Traversal Using Relays around NAT Anycast"),
    ("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast Address"),
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
]
REGISTRY = IPV4_REGISTRY + IPV6_REGISTRY
# The addresses the issue found saved as endpoint URLs.
ONCE_SAVED = ["192.0.0.8", "192.0.0.100", "192.88.99.1", "[fec0::1]", "[fec0::ffff:7f00:1]",
              "[feff::1]", "[3fff::1]"]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "192.0.1.1", "192.88.98.255",
          "100.128.0.1", "2001:4860:4860::8888", "2606:4700::1111", "2001:200::1", "2c00::1",
          "3fff:1000::1"]


def samples(block):
    """The first, middle and last addresses of a block."""
    network = ipaddress.ip_network(block)
    first, last = int(network.network_address), int(network.broadcast_address)
    kind = type(network.network_address)
    return [kind(first), kind((first + last) // 2), kind(last)]


def url_of(address):
    return f"https://[{address}]/hook" if address.version == 6 else f"https://{address}/hook"


@pytest.mark.parametrize(("block", "name"), REGISTRY, ids=[f"{b} {n}" for b, n in REGISTRY])
def test_every_registry_block_is_refused(block, name):
    for address in samples(block):
        assert is_blocked_ip(address), f"{address} in {block} ({name})"
        with pytest.raises(UrlRejected, match="blocked address"):
            validate_url(url_of(address), allow_http=False, allow_private=False)
        with pytest.raises(UrlRejected, match="blocked address"):
            resolve_checked(str(address), 443, allow_private=False)


@pytest.mark.parametrize("host", ONCE_SAVED)
def test_the_addresses_once_saved_are_refused(host):
    with pytest.raises(UrlRejected, match="blocked address"):
        validate_url(f"https://{host}/hook", allow_http=False, allow_private=False)


def test_the_refusal_names_the_block():
    with pytest.raises(UrlRejected, match=r"\(192\.0\.0\.8, IPv4 dummy address\)"):
        validate_url("https://192.0.0.8/", allow_http=False, allow_private=False)
    with pytest.raises(UrlRejected, match=r"\(fec0::1, outside IPv6 global unicast\)"):
        validate_url("https://[fec0::1]/", allow_http=False, allow_private=False)


@pytest.mark.parametrize("block", ["224.0.0.0/4", "ff00::/8", "fec0::/10", "::/8", "4000::/3",
                                   "e000::/4"])
def test_multicast_and_space_outside_ipv6_global_unicast_are_refused(block):
    assert all(is_blocked_ip(address) for address in samples(block))


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
                                     "2001:0:4136:e378:8000:63bf:3fff:fdd2"])
def test_addresses_that_wrap_another_are_refused_even_when_it_is_public(address):
    """Where a translator sends the traffic is decided outside Hookline."""
    assert is_blocked_ip(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_ordinary_public_addresses_pass(address):
    assert not is_blocked_ip(address)
    url = url_of(ipaddress.ip_address(address))
    assert validate_url(url, allow_http=False, allow_private=False) == url
