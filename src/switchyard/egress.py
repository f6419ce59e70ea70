"""Egress policy: which URLs the gateway may be told to connect to (servers added through the admin API).

Only http(s) URLs without userinfo pass. The host is read the way a resolver would read it: IPv4 literals in
every encoding inet_aton accepts (decimal `2852039166`, hex `0x7f.1`, octal `0177.0.0.1`, short `127.1`),
IPv6 literals including IPv4-mapped, NAT64, 6to4 and Teredo forms, and names (a trailing dot ignored). An
address that is not public (loopback, private, link-local and cloud metadata, CGNAT, multicast, reserved,
unspecified) or a name that resolves to one is refused unless `egress.allow` lists its host:port.
Nothing is ever requested from the target while checking.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
RESOLVE_TIMEOUT = 2.0
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_INTERNAL_NAMES = re.compile(r"(^|\.)(localhost|localdomain|internal|local|home\.arpa)$|^metadata($|\.)")
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


class EgressDenied(ValueError):
    """A URL the egress policy refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # lower case, without a trailing dot or IPv6 brackets
    port: int
    address: IpAddress | None  # when the host is an IP literal


def parse_target(url: str) -> Target:
    """The scheme, host and port a URL points at; EgressDenied for a URL that must never be used."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise EgressDenied(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise EgressDenied(f"scheme {scheme or '(none)'!r} is not allowed: use http or https")
    if "@" in parts.netloc:
        raise EgressDenied("credentials in the URL (user:password@) are not allowed: use headers")
    if any(ch in parts.netloc for ch in "\\ \t\r\n%"):
        raise EgressDenied("the host contains characters a host name cannot have")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise EgressDenied("the URL has no host")
    return Target(scheme, host, port if port is not None else DEFAULT_PORTS[scheme], ip_literal(host))


def ip_literal(host: str) -> IpAddress | None:
    """The address a host string denotes as a literal, in any encoding; None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.fullmatch(p) for p in parts):
        return None
    values = [
        int(p, 16) if p[:2].lower() == "0x" else int(p, 8) if len(p) > 1 and p[0] == "0" else int(p or "0")
        for p in parts
    ]
    *leading, last = values
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (5 - len(values))):
        return None  # what inet_aton refuses: a name, then
    number = 0
    for v in leading:
        number = number << 8 | v
    number = number << (8 * (5 - len(values))) | last
    return ipaddress.IPv4Address(number)


def is_public(address: IpAddress) -> bool:
    """Whether an address is globally routable, looking through IPv6 forms that embed an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast


def allowed(target: Target, allow: Iterable[str], addresses: Iterable[IpAddress] = ()) -> bool:
    """Whether `egress.allow` lists the target's host:port (by name, or by any address it stands for)."""
    known = {target.host, *(str(a) for a in addresses)}
    if target.address is not None:
        known.add(str(target.address))
    for entry in allow:
        host, _, port = entry.strip().rpartition(":")
        host = host.strip("[]").rstrip(".").lower()
        literal = ip_literal(host)
        if port.isdigit() and int(port) == target.port and (host in known or str(literal) in known):
            return True
    return False


async def check_url(url: str, allow: Iterable[str] = ()) -> Target:
    """The target of a URL the gateway may use; EgressDenied (with the reason) otherwise.

    A name is resolved (without contacting it) and refused when any of its addresses is not public; a name
    that does not resolve now passes, as it reaches nothing.
    """
    allow = list(allow)
    target = parse_target(url)
    if target.address is not None:
        if not is_public(target.address) and not allowed(target, allow):
            raise EgressDenied(
                f"{target.address} is not a public address (add '{target.host}:{target.port}' to egress.allow)"
            )
        return target
    if _INTERNAL_NAMES.search(target.host) and not allowed(target, allow):
        raise EgressDenied(
            f"{target.host!r} names an internal host (add '{target.host}:{target.port}' to egress.allow)"
        )
    addresses = await _resolve(target.host, target.port)
    private = [a for a in addresses if not is_public(a)]
    if private and not allowed(target, allow, addresses):
        raise EgressDenied(f"{target.host!r} resolves to {private[0]}, not a public address")
    return target


def _entry(target: Target) -> str:
    address = target.address
    host = target.host if address is None else f"[{address}]" if address.version == 6 else str(address)
    return f"'{host}:{target.port}'"


async def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        with anyio.fail_after(RESOLVE_TIMEOUT):
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return []
    found: list[IpAddress] = []
    for info in infos:
        try:
            found.append(ipaddress.ip_address(str(info[4][0]).partition("%")[0]))
        except ValueError:
            continue
    return found
