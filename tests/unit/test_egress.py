"""The egress check for URLs given through the admin API: IP literals in every encoding, names, the allow list."""

from __future__ import annotations

import ipaddress

import anyio
import pytest

from switchyard.egress import EgressDenied, check_url, ip_literal, is_public

ALLOW = ["127.0.0.1:9101", "127.0.0.1:9102"]

REFUSED = {
    "http://169.254.169.254/latest/meta-data/": "not a public address",
    "http://[::ffff:a9fe:a9fe]/": "not a public address",
    "http://2852039166/": "169.254.169.254 is not a public address",
    "http://0x7f.1:8931/admin/api/servers": "127.0.0.1 is not a public address",
    "http://127.1:9999/": "127.0.0.1 is not a public address",
    "http://0177.0.0.1:9101/x": None,  # octal 127.0.0.1 on an allowed port: allowed (same target)
    "http://0x7f000001:9999/": "127.0.0.1",
    "http://localhost.:9999": "names an internal host",
    "http://LOCALHOST:9999": "names an internal host",
    "http://metadata.google.internal/": "names an internal host",
    "file:///etc/passwd": "scheme 'file' is not allowed",
    "gopher://127.0.0.1:6379/_FLUSHALL": "scheme 'gopher' is not allowed",
    "http://user:pass@example.test@127.0.0.1:9999/": "credentials in the URL",
    "http://user@example.com/": "credentials in the URL",
    "http://[::1]:9101/": "not a public address",  # the allow list names 127.0.0.1, not ::1
    "http://[64:ff9b::a9fe:a9fe]/": "not a public address",  # NAT64
    "http://[2002:a9fe:a9fe::]/": "not a public address",  # 6to4
    "http://0/": "0.0.0.0",
    "http://10.0.0.8/": "not a public address",
    "http://192.168.1.1/": "not a public address",
    "http://100.64.1.1/": "not a public address",
    "http://[fe80::1%25eth0]/": "characters a host name cannot have",
    "http://example.com:99999/": "not a valid URL",
    "ftp://example.com/": "scheme 'ftp'",
    "//example.com/": r"scheme '\(none\)'",
}


@pytest.mark.parametrize("url", sorted(REFUSED))
def test_internal_and_malformed_targets_are_refused(url: str) -> None:
    expected = REFUSED[url]

    async def check() -> None:
        await check_url(url, ALLOW)

    if expected is None:
        anyio.run(check)
        return
    with pytest.raises(EgressDenied, match=expected):
        anyio.run(check)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9101/mcp", "http://127.0.0.1:9102", "https://1.1.1.1/mcp", "http://[2606:4700::1111]:8080/"],
)
def test_public_and_allowed_targets_pass(url: str) -> None:
    target = anyio.run(check_url, url, ALLOW)
    assert target.scheme in ("http", "https")


def test_the_allow_list_is_host_and_port() -> None:
    with pytest.raises(EgressDenied):
        anyio.run(check_url, "http://127.0.0.1:9103/", ALLOW)
    assert anyio.run(check_url, "http://[::1]:7000/", ["[::1]:7000"]).port == 7000
    assert anyio.run(check_url, "http://localhost:7000/", ["localhost:7000"]).host == "localhost"


def test_names_that_resolve_to_internal_addresses_are_refused() -> None:
    # /etc/hosts maps localhost-style names without any network; "ip6-localhost" is not caught by its name.
    with pytest.raises(EgressDenied, match="localhost"):
        anyio.run(check_url, "http://localhost/", [])


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("0xA9FEA9FE", "169.254.169.254"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("08.1.1.1", None),
        ("4294967296", None),
    ],
)
def test_ip_literals_are_read_as_inet_aton_reads_them(host: str, address: str | None) -> None:
    parsed = ip_literal(host)
    assert (None if parsed is None else str(parsed)) == address


def test_public_means_globally_routable_through_embedded_ipv4() -> None:
    assert is_public(ipaddress.ip_address("8.8.8.8"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("224.0.0.1"))
    assert not is_public(ipaddress.ip_address("fd00::1"))
