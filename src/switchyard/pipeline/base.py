"""The policy chain: each policy may pass a call on, change it, answer it or refuse it.

A policy is `async (call, call_next) -> result`, the shape of Starlette middleware and Envoy filters. Policies
read only the `Call`; they know nothing of transports or connections.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from switchyard.protocol.jsonrpc import RequestId


@dataclass(frozen=True, slots=True)
class Client:
    """Who is calling, and over what."""

    principal: str  # API key name, JWT `sub`, "local" (HTTP without auth) or "stdio"
    transport: str
    session_id: str | None = None
    profile: str | None = None  # None: no profile (everything the policies allow)
    role: str = "client"  # "client" | "admin"
    remote: str | None = None  # the peer's address, for HTTP


@dataclass(frozen=True, slots=True)
class Target:
    """What a request is for: resolved from the catalogue before the pipeline runs."""

    kind: str  # "tool" | "prompt" | "resource" | "completion"
    public_name: str
    server: str | None = None  # None: nothing of that name exists
    original_name: str | None = None


@dataclass(frozen=True, slots=True)
class Requester:
    """Who waits on a forwarded request, so that what a backend sends during it reaches only them."""

    session: Any  # the front's Session
    related: Callable[[dict[str, Any]], None]  # sends on the request's own channel
    capabilities: dict[str, Any]  # what the client declared (handshake, or this request's envelope)
    log_level: str | None  # the most verbose log level it wants; None = no logs
    protocol_version: str | None = None  # the session's negotiated version, or this request's (modern)


@dataclass(slots=True)
class Call:
    method: str
    params: dict[str, Any]
    client: Client
    request_id: RequestId | None
    target: Target
    requester: Requester | None = None
    via: str | None = None  # "meta": the client reached this call through the call meta-tool
    redacted: tuple[str, ...] = ()  # kinds of secret the output redaction removed from the answer


Handler = Callable[[Call], Awaitable[dict[str, Any]]]


class Policy(Protocol):
    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]: ...


def build_chain(policies: Sequence[Policy], terminal: Handler) -> Handler:
    """Compose policies, first one outermost, around the terminal handler (the router)."""
    handler = terminal
    for policy in reversed(policies):
        handler = _bind(policy, handler)
    return handler


def _bind(policy: Policy, call_next: Handler) -> Handler:
    async def handle(call: Call) -> dict[str, Any]:
        return await policy(call, call_next)

    return handle
