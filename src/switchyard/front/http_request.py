"""What the HTTP routes share about a request: who calls (and through which profile), its capped body, and
the audited refusal of it."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from switchyard.errors import GatewayError, Reason
from switchyard.front.auth import Identity
from switchyard.front.intake import ANONYMOUS, Rejection, refusal_record
from switchyard.gateway import Gateway
from switchyard.pipeline import Client
from switchyard.protocol import jsonrpc
from switchyard.protocol.jsonrpc import RequestId


def new_session_id() -> str:
    """256 random bits as 43 URL-safe characters (visible ASCII, as the spec requires)."""
    return secrets.token_urlsafe(32)


def caller(gateway: Gateway, request: Request, identity: Identity, transport: str = "http") -> Client:
    """The request's client: its identity, and the profile its path names (checked against its credential).

    `/mcp` serves the credential's own profile; `/mcp/{profile}` that profile, if it exists and the credential
    is not bound to another one. An unknown profile and a forbidden one both look like a missing page (404).
    """
    wanted = request.path_params.get("profile")
    profile = identity.profile
    if wanted is not None:
        if wanted not in gateway.config.profiles:
            raise Rejection(404, GatewayError(Reason.INVALID_REQUEST, "Not Found"), audit_reason="unknown_profile")
        if identity.profile is not None and wanted != identity.profile:
            raise Rejection(404, GatewayError(Reason.INVALID_REQUEST, "Not Found"), audit_reason="profile_not_allowed")
        profile = wanted
    return Client(identity.principal, transport, None, profile, identity.role, remote_address(request))


def remote_address(request: Request | Scope) -> str | None:
    peer = request.client if isinstance(request, Request) else request.get("client")
    return peer[0] if peer else None


def audit_refusal(
    gateway: Gateway,
    request: Request | Scope,
    reason: str,
    principal: str = ANONYMOUS,
    *,
    transport: str = "http",
    method: str = "",
    request_id: RequestId | None = None,
) -> None:
    """Audit a refused request; `method` is its JSON-RPC method when known, else the HTTP method and path."""
    scope = request.scope if isinstance(request, Request) else request
    gateway.audit.submit(
        refusal_record(
            reason,
            principal=principal,
            transport=transport,
            method=method or f"{scope['method']} {scope['path']}",
            remote=remote_address(request),
            request_id=request_id,
        )
    )


def rejection_response(rejection: Rejection) -> Response:
    return Response(jsonrpc.encode(rejection.message()), status_code=rejection.status, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 (and a JSON-RPC error saying so) past `limit` bytes, declared or streamed.

    A declared length over the limit is refused before reading anything; a chunked body is refused as soon as
    it crosses the limit, so at most `limit` bytes (plus one chunk) are ever held.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> Rejection:
    text = f"Request body too large: the limit is {limit} bytes"
    return Rejection(413, GatewayError(Reason.REQUEST_TOO_LARGE, text, limit_bytes=limit))
