"""Every error the gateway itself produces, with its JSON-RPC code and stable `data.reason`.

JSON-RPC standard codes are used where they fit. The gateway's own codes live outside the range the
2026-07-28 spec reserves (-32768..-32000), in one table, so that a renumbering touches only this file.
Tests and clients key on `data.reason`, never on the number.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603


class Reason(StrEnum):
    """Stable machine-readable reasons, with the JSON-RPC code each maps to."""

    PARSE_ERROR = "parse_error"
    INVALID_REQUEST = "invalid_request"
    METHOD_NOT_FOUND = "method_not_found"
    INVALID_PARAMS = "invalid_params"
    UNKNOWN_TOOL = "unknown_tool"
    UNKNOWN_PROMPT = "unknown_prompt"
    UNKNOWN_RESOURCE = "unknown_resource"
    NOT_ALLOWED = "not_allowed"
    ARGUMENT_NOT_ALLOWED = "argument_not_allowed"
    INVALID_CURSOR = "invalid_cursor"
    BACKEND_UNAVAILABLE = "backend_unavailable"
    BACKEND_CRASHED = "backend_crashed"
    CIRCUIT_OPEN = "circuit_open"
    AUTH_FAILED = "auth_failed"  # the gateway's own credential for a backend was refused
    BAD_REDIRECT = "bad_redirect"
    INVALID_BACKEND_MESSAGE = "invalid_backend_message"
    TIMEOUT = "timeout"
    BACKEND_TIMEOUT = "backend_timeout"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_INFLIGHT = "too_many_inflight"
    TOO_MANY_SESSIONS = "too_many_sessions"
    RESPONSE_TOO_LARGE = "response_too_large"
    LINE_TOO_LONG = "line_too_long"
    DEFINITION_CHANGED = "definition_changed"
    POISONING_SUSPECTED = "poisoning_suspected"
    PENDING_APPROVAL = "pending_approval"
    OUTPUT_POLICY = "output_policy"
    CANCELLED = "cancelled"
    UNSUPPORTED_VERSION = "unsupported_protocol_version"
    INTERNAL = "internal_error"
    HEADER_MISMATCH = "header_mismatch"
    REQUEST_TOO_LARGE = "request_too_large"
    MISSING_CAPABILITY = "missing_client_capability"

    @property
    def code(self) -> int:
        return _CODES[self]

    @property
    def decision(self) -> str:
        """What the audit records for a request refused with this reason: deny, reject or error."""
        if self in _DENIED:
            return "deny"
        return "reject" if self in _REJECTED else "error"


# Gateway-specific codes: chosen once, outside -32768..-32000.
_CODES: dict[Reason, int] = {
    Reason.PARSE_ERROR: PARSE_ERROR,
    Reason.INVALID_REQUEST: INVALID_REQUEST,
    Reason.METHOD_NOT_FOUND: METHOD_NOT_FOUND,
    Reason.INVALID_PARAMS: INVALID_PARAMS,
    # An unknown and a denied tool must be indistinguishable: same code, same reason.
    Reason.UNKNOWN_TOOL: INVALID_PARAMS,
    Reason.NOT_ALLOWED: INVALID_PARAMS,
    Reason.ARGUMENT_NOT_ALLOWED: INVALID_PARAMS,
    Reason.UNKNOWN_PROMPT: INVALID_PARAMS,
    Reason.UNKNOWN_RESOURCE: INVALID_PARAMS,
    Reason.INVALID_CURSOR: INVALID_PARAMS,
    Reason.UNSUPPORTED_VERSION: INVALID_REQUEST,
    Reason.BACKEND_UNAVAILABLE: -31001,
    Reason.CIRCUIT_OPEN: -31001,
    Reason.AUTH_FAILED: -31001,
    Reason.BAD_REDIRECT: -31001,
    Reason.BACKEND_CRASHED: -31002,
    Reason.TIMEOUT: -31003,
    Reason.BACKEND_TIMEOUT: -31003,
    Reason.CANCELLED: -31004,
    Reason.REQUEST_TOO_LARGE: -31005,
    Reason.RESPONSE_TOO_LARGE: -31005,
    Reason.LINE_TOO_LONG: -31005,
    Reason.RATE_LIMITED: -31006,
    Reason.TOO_MANY_INFLIGHT: -31006,
    Reason.TOO_MANY_SESSIONS: -31006,
    Reason.DEFINITION_CHANGED: -31007,
    Reason.POISONING_SUSPECTED: -31007,
    Reason.PENDING_APPROVAL: -31007,
    Reason.INVALID_BACKEND_MESSAGE: -31008,
    Reason.OUTPUT_POLICY: -31009,
    Reason.INTERNAL: INTERNAL_ERROR,
    # The spec's own codes (2026-07-28), never invented here.
    Reason.HEADER_MISMATCH: -32020,
    Reason.MISSING_CAPABILITY: -32021,
}

# Refused by policy (allowlists, argument rules, pins) ...
_DENIED = frozenset(
    {
        Reason.NOT_ALLOWED,
        Reason.ARGUMENT_NOT_ALLOWED,
        Reason.UNKNOWN_TOOL,
        Reason.UNKNOWN_PROMPT,
        Reason.UNKNOWN_RESOURCE,
        Reason.DEFINITION_CHANGED,
        Reason.POISONING_SUSPECTED,
        Reason.PENDING_APPROVAL,
    }
)
# ... or refused before any policy looked at it: malformed, over a limit.
_REJECTED = frozenset(
    {
        Reason.PARSE_ERROR,
        Reason.INVALID_REQUEST,
        Reason.METHOD_NOT_FOUND,
        Reason.INVALID_PARAMS,
        Reason.INVALID_CURSOR,
        Reason.UNSUPPORTED_VERSION,
        Reason.HEADER_MISMATCH,
        Reason.MISSING_CAPABILITY,
        Reason.REQUEST_TOO_LARGE,
        Reason.RATE_LIMITED,
        Reason.TOO_MANY_INFLIGHT,
        Reason.TOO_MANY_SESSIONS,
    }
)

_PROTOCOL_REASONS = {
    PARSE_ERROR: Reason.PARSE_ERROR,
    INVALID_REQUEST: Reason.INVALID_REQUEST,
    INVALID_PARAMS: Reason.INVALID_PARAMS,
    METHOD_NOT_FOUND: Reason.METHOD_NOT_FOUND,
    -32020: Reason.HEADER_MISMATCH,
    -32021: Reason.MISSING_CAPABILITY,
    -32022: Reason.UNSUPPORTED_VERSION,
}


class GatewayError(Exception):
    """An error the gateway answers with: becomes a JSON-RPC error object."""

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        audit_reason: str | None = None,
        detail: str | None = None,
        **data: Any,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = reason.code
        self.message = message
        self.data = {k: v for k, v in data.items() if v is not None}
        # What the audit log records, when it must say more than the client may learn: the precise reason
        # (e.g. server_not_allowed where the client reads not_allowed) and the rule that decided.
        self.audit_reason = audit_reason or reason.value
        self.detail = detail

    @classmethod
    def protocol(cls, code: int, message: str, data: Any = None) -> GatewayError:
        """An error whose code the spec itself fixes (e.g. -32020 header mismatch, -32022 version)."""
        error = cls(_PROTOCOL_REASONS.get(code, Reason.INVALID_REQUEST), message)
        error.code = code
        if isinstance(data, dict):
            error.data.update(data)
        return error

    @classmethod
    def unknown(
        cls, kind: str, name: str, *, audit_reason: str | None = None, detail: str | None = None
    ) -> GatewayError:
        """The one error for 'no such tool/prompt/resource', whether it is absent or hidden by policy.

        A tool the client may not see, an unknown tool and a tool of an unknown server answer identically
        (reason `not_allowed`, the name only in the message); only the audit learns which it was.
        """
        reason = _UNKNOWN[kind]
        message = f"Unknown {kind}: {name}"
        if kind == "tool":
            return cls(reason, message, audit_reason=audit_reason or Reason.UNKNOWN_TOOL.value, detail=detail)
        field = "uri" if kind == "resource" else "name"
        return cls(reason, message, audit_reason=audit_reason, detail=detail, **{field: name})

    def to_jsonrpc(self, request_id: Any = None) -> dict[str, Any]:
        """The JSON-RPC error object; `data` always carries `reason` and `request_id` (the request's id)."""
        return {
            "code": self.code,
            "message": self.message,
            "data": {"reason": self.reason.value, "request_id": request_id, **self.data},
        }


_UNKNOWN = {
    "tool": Reason.NOT_ALLOWED,
    "prompt": Reason.UNKNOWN_PROMPT,
    "resource": Reason.UNKNOWN_RESOURCE,
    "completion": Reason.INVALID_PARAMS,
    "task": Reason.INVALID_PARAMS,
}


# The key under which a transport hands the connection its own failure of one request, inside an error response
# (a GatewayError object, which no message parsed from a backend can carry).
TRANSPORT_FAILURE = "switchyard.transport_failure"


class BackendError(Exception):
    """A backend's own JSON-RPC error, passed through to the client unchanged."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message", "backend error")))
        self.error = error
