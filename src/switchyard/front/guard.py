"""DNS-rebinding and cross-site defences for every HTTP route: the Host and Origin a request may carry.

A browser page can reach a gateway on loopback (or, after rebinding its own name, look same-origin to it).
Requests with a Host outside the allowed ones get 421 and with a foreign Origin 403, before any route runs;
requests without an Origin (every non-browser client) pass the Origin check. No CORS header is ever sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True, slots=True)
class Allowed:
    """Exact values, or `name:*` for the name with any port."""

    patterns: tuple[str, ...]

    def __contains__(self, value: str) -> bool:
        for pattern in self.patterns:
            if value == pattern:
                return True
            if pattern.endswith(":*"):
                base, _, port = value.rpartition(":")
                if base == pattern[:-2] and port.isdigit():
                    return True
        return False


@dataclass(frozen=True, slots=True)
class GuardSettings:
    hosts: Allowed | None  # None: any Host (a non-loopback bind without configured hosts)
    origins: Allowed

    @classmethod
    def for_bind(cls, host: str, extra_hosts: Iterable[str], extra_origins: Iterable[str]) -> GuardSettings:
        """Loopback binds accept loopback names and origins; others only what is configured."""
        extra_hosts, extra_origins = tuple(extra_hosts), tuple(extra_origins)
        if host not in LOOPBACK_HOSTS:
            return cls(Allowed(extra_hosts) if extra_hosts else None, Allowed(extra_origins))
        hosts = tuple(h for name in _LOOPBACK_NAMES for h in (name, f"{name}:*"))
        origins = tuple(o for name in _LOOPBACK_NAMES for o in (f"http://{name}", f"http://{name}:*"))
        return cls(Allowed(hosts + extra_hosts), Allowed(origins + extra_origins))


Refused = Callable[[Scope, str], None]  # (request scope, audit reason): told of every refusal


class HostOriginGuard:
    """ASGI middleware: 421 for a Host outside the allowed ones, 403 for a foreign Origin."""

    def __init__(self, app: ASGIApp, settings: GuardSettings, on_refused: Refused) -> None:
        self.app = app
        self.settings = settings
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        hosts = self.settings.hosts
        if hosts is not None and headers.get("host", "").strip() not in hosts:
            self.on_refused(scope, "forbidden_host")
            await Response("Misdirected Request: this Host is not served here", status_code=421)(scope, receive, send)
            return
        origin = headers.get("origin")
        if origin is not None and origin.strip() not in self.settings.origins:
            self.on_refused(scope, "forbidden_origin")
            await Response("Forbidden: cross-origin request refused", status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)
