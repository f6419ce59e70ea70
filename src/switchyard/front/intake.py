"""What a front accepts as one client message, and the audited refusal of everything else.

A message is one JSON-RPC 2.0 object in UTF-8. Batches are refused whole (nothing in them runs): MCP dropped
them in 2025-06-18, and executing part of one would let a denied call ride along with an allowed one. The
error echoes the request's id only when it is a valid one (a string or an integer), else null.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from switchyard.errors import GatewayError, Reason
from switchyard.protocol import jsonrpc
from switchyard.protocol.jsonrpc import Message, RequestId
from switchyard.registry import AuditRecord

ANONYMOUS = "anonymous"  # who an unauthenticated request is audited as


class Rejection(Exception):
    """A request refused before it reaches a session: its HTTP status, JSON-RPC error and audit reason."""

    def __init__(
        self,
        status: int,
        error: GatewayError,
        *,
        request_id: RequestId | None = None,
        method: str = "",
        audit_reason: str | None = None,
    ) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error
        self.request_id = request_id
        self.method = method  # the JSON-RPC method, when the body got that far
        self.audit_reason = audit_reason or error.audit_reason

    def message(self) -> Message:
        return jsonrpc.error(self.request_id, self.error.to_jsonrpc(self.request_id))


def read_message(data: bytes) -> Message:
    """One JSON-RPC message from `data`, or a Rejection saying precisely what is wrong with it."""
    if not data.strip():
        raise Rejection(400, GatewayError(Reason.INVALID_REQUEST, "Invalid request: the body is empty"))
    try:
        message = jsonrpc.decode(data)
    except GatewayError as exc:
        raise Rejection(400, exc) from None
    if isinstance(message, list):
        error = GatewayError(Reason.INVALID_REQUEST, "Invalid request: JSON-RPC batches are not supported")
        raise Rejection(400, error, audit_reason="batch_not_supported")
    try:
        return jsonrpc.validate(message)
    except GatewayError as exc:
        raise Rejection(400, exc, request_id=valid_id(message), method=method_of(message)) from None


def valid_id(message: Any) -> RequestId | None:
    request_id = message.get("id") if isinstance(message, dict) else None
    return request_id if isinstance(request_id, int | str) and not isinstance(request_id, bool) else None


def method_of(message: Any) -> str:
    method = message.get("method") if isinstance(message, dict) else None
    return method if isinstance(method, str) else ""


def refusal_record(
    reason: str,
    *,
    principal: str = ANONYMOUS,
    transport: str,
    method: str,
    remote: str | None = None,
    request_id: RequestId | None = None,
    session_id: str | None = None,
    decision: str = "reject",
) -> AuditRecord:
    """The audit record of a request a front refused (or of a session event, with decision "allow")."""
    return AuditRecord(
        ts=datetime.now(UTC),
        request_id=None if request_id is None else str(request_id),
        principal=principal,
        transport=transport,
        method=method,
        server=None,
        tool=None,
        decision=decision,
        reason=reason,
        duration_ms=None,
        session=session_digest(session_id),
        remote=remote,
    )


def session_digest(session_id: str | None) -> str | None:
    """What the audit log keeps of a session id: a digest that links records without being usable."""
    return None if session_id is None else hashlib.sha256(session_id.encode()).hexdigest()
