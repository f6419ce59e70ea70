"""The 2026-07-28 era at the front: per-request envelopes instead of a handshake.

A modern request carries its protocol version, client capabilities and info in `params._meta`; the SDK's
inbound ladder validates that envelope (and, over HTTP, the mirrored `Mcp-*` headers). The gateway strips the
envelope before the request enters the era-neutral core and completes results on the way out (`resultType`,
cache hints, its own `serverInfo`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from switchyard.errors import GatewayError
from switchyard.protocol.versions import MODERN_VERSIONS

ENVELOPE_PREFIX = "io.modelcontextprotocol/"
# The envelope's keys (mcp_types spells them the same; a unit test checks). The SDK's validation ladder and
# header helpers are imported where first used: a gateway with no modern peer never loads them.
PROTOCOL_VERSION_META_KEY = ENVELOPE_PREFIX + "protocolVersion"
CLIENT_CAPABILITIES_META_KEY = ENVELOPE_PREFIX + "clientCapabilities"
CLIENT_INFO_META_KEY = ENVELOPE_PREFIX + "clientInfo"
LOG_LEVEL_META_KEY = ENVELOPE_PREFIX + "logLevel"
SERVER_INFO_META_KEY = ENVELOPE_PREFIX + "serverInfo"
# Methods whose results carry `ttlMs`/`cacheScope` (mcp_types.methods.CACHEABLE_METHODS).
CACHEABLE_METHODS = frozenset(
    {
        "server/discover",
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
    }
)
# Methods a modern client may not use: the handshake era's session machinery.
REMOVED_METHODS = frozenset({"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"})


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a modern request says about its client, for this request only."""

    protocol_version: str
    client_capabilities: dict[str, Any]
    client_info: dict[str, Any]
    log_level: str | None


def is_modern(message: Mapping[str, Any]) -> bool:
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and PROTOCOL_VERSION_META_KEY in meta


def claims_modern(headers: Mapping[str, str]) -> bool:
    """An HTTP request that says it is 2026-07-28 is judged as one, even when its body lacks the envelope."""
    if headers.get("mcp-protocol-version") in MODERN_VERSIONS:
        return True
    return headers.get("mcp-method", "initialize") not in ("initialize", "notifications/initialized")


def preload() -> None:
    """Import the SDK's validation ladder now (about 0.4 s, best in a worker thread), so that the first modern
    request does not pay for it on the event loop."""
    import mcp.shared.inbound  # noqa: F401


def check_param_headers(input_schema: Any, arguments: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    from mcp.shared.inbound import validate_mcp_param_headers

    rejection = validate_mcp_param_headers(input_schema, arguments, headers)
    if rejection is not None:
        raise GatewayError.protocol(rejection.code, rejection.message, rejection.data)


def open_envelope(message: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Envelope:
    """Validate a modern request's envelope (and its HTTP headers, when given)."""
    from mcp.shared.inbound import InboundLadderRejection, classify_inbound_request

    route = classify_inbound_request(message, headers=headers, supported_modern_versions=MODERN_VERSIONS)
    if isinstance(route, InboundLadderRejection):
        raise GatewayError.protocol(route.code, route.message, route.data)
    meta = message["params"]["_meta"]
    capabilities = route.client_capabilities if isinstance(route.client_capabilities, dict) else {}
    info = route.client_info if isinstance(route.client_info, dict) else {}
    level = meta.get(LOG_LEVEL_META_KEY)
    return Envelope(route.protocol_version, capabilities, info, level if isinstance(level, str) else None)


def strip_envelope(params: dict[str, Any]) -> dict[str, Any]:
    """The params without the era's envelope keys (progress tokens and trace context stay)."""
    meta = params.get("_meta")
    if not isinstance(meta, dict) or not any(key.startswith(ENVELOPE_PREFIX) for key in meta):
        return params
    kept = {k: v for k, v in meta.items() if not k.startswith(ENVELOPE_PREFIX)}
    stripped = {k: v for k, v in params.items() if k != "_meta"}
    if kept:
        stripped["_meta"] = kept
    return stripped


def complete_result(method: str, result: dict[str, Any], server_info: dict[str, Any]) -> dict[str, Any]:
    """A result as a modern client expects it: `resultType`, cache hints, the gateway as the server."""
    completed = dict(result)
    completed.setdefault("resultType", "complete")
    if method in CACHEABLE_METHODS:
        # The gateway filters per client and aggregates: never let a shared cache reuse its answers.
        completed.setdefault("ttlMs", 0)
        completed["cacheScope"] = "private"
    meta = completed.get("_meta")
    completed["_meta"] = {**(meta if isinstance(meta, dict) else {}), SERVER_INFO_META_KEY: server_info}
    return completed


def http_status(error: Mapping[str, Any]) -> int:
    """The HTTP status a modern response with this JSON-RPC error travels with."""
    from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS

    return ERROR_CODE_HTTP_STATUS.get(error.get("code", 0), 200)


def legacy_not_found_to_modern(error: dict[str, Any]) -> dict[str, Any]:
    """Resource-not-found was -32002 in the handshake era; 2026-07-28 uses -32602."""
    return {**error, "code": -32602} if error.get("code") == -32002 else error


# -- the upstream side: speaking 2026-07-28 to a backend --------------------------------------------------


def envelope_meta(version: str, capabilities: dict[str, Any], client_info: dict[str, Any]) -> dict[str, Any]:
    return {
        PROTOCOL_VERSION_META_KEY: version,
        CLIENT_CAPABILITIES_META_KEY: capabilities,
        CLIENT_INFO_META_KEY: client_info,
    }


def client_context(capabilities: dict[str, Any] | None, log_level: str | None) -> dict[str, Any]:
    """The envelope keys that speak for the requesting client rather than the gateway."""
    context: dict[str, Any] = {}
    if capabilities is not None:
        context[CLIENT_CAPABILITIES_META_KEY] = capabilities
    if log_level is not None:
        context[LOG_LEVEL_META_KEY] = log_level
    return context


def with_envelope(params: dict[str, Any] | None, envelope: dict[str, Any]) -> dict[str, Any]:
    """Params with the gateway's own envelope for a modern backend (the client's never passes through)."""
    params = params or {}
    meta = params.get("_meta")
    return {**params, "_meta": {**(meta if isinstance(meta, dict) else {}), **envelope}}


def routing_headers(message: Mapping[str, Any], version: str) -> dict[str, str]:
    """The HTTP headers a modern request must mirror from its body."""
    from mcp.shared.inbound import (
        MCP_METHOD_HEADER,
        MCP_NAME_HEADER,
        MCP_PROTOCOL_VERSION_HEADER,
        NAME_BEARING_METHODS,
        encode_header_value,
    )

    method = message.get("method")
    if not isinstance(method, str) or "id" not in message:
        return {MCP_PROTOCOL_VERSION_HEADER: version}
    headers = {MCP_PROTOCOL_VERSION_HEADER: version, MCP_METHOD_HEADER: method}
    name_key = NAME_BEARING_METHODS.get(method)
    params = message.get("params") or {}
    if name_key is not None and isinstance(params.get(name_key), str):
        headers[MCP_NAME_HEADER] = encode_header_value(params[name_key])
    return headers


def server_info_of(result: Mapping[str, Any]) -> dict[str, Any]:
    meta = result.get("_meta")
    info = meta.get(SERVER_INFO_META_KEY) if isinstance(meta, dict) else None
    return info if isinstance(info, dict) else {}


def without_server_info(result: dict[str, Any]) -> dict[str, Any]:
    """A backend's result without its `serverInfo` stamp: to the client, the gateway is the server."""
    meta = result.get("_meta")
    if not isinstance(meta, dict) or SERVER_INFO_META_KEY not in meta:
        return result
    rest = {k: v for k, v in meta.items() if k != SERVER_INFO_META_KEY}
    stripped = {k: v for k, v in result.items() if k != "_meta"}
    if rest:
        stripped["_meta"] = rest
    return stripped
