"""Values made fit for the audit log: control characters escaped, long values cut with a marker, sessions hashed.

Whatever a client or backend sends (a tool name with a newline and a forged record after it, a megabyte of
text, a lone surrogate) becomes a bounded, printable value here, so that a record can neither forge another
nor fail to be written (PostgreSQL refuses a value longer than its column).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from switchyard.registry.records import AuditRecord
from switchyard.security.printable import escape

# Column sizes of audit_log (registry/models.py): a value is cut to fit.
LIMITS: dict[str, int] = {
    "request_id": 256,
    "principal": 255,
    "transport": 16,
    "method": 128,
    "server": 255,
    "tool": 512,
    "decision": 16,
    "reason": 64,
    "session": 64,
    "protocol_version": 32,
    "remote": 255,
    "via": 16,
    "detail": 1024,
}
MAX_ARGUMENT_TEXT = 1024  # characters of one string inside recorded arguments
MAX_ARGUMENT_ITEMS = 64  # entries of one object or array inside recorded arguments
MAX_ARGUMENT_DEPTH = 8


def clip(text: str, limit: int) -> str:
    """`text` escaped and, when longer than `limit`, cut to `limit` characters ending in a truncation marker."""
    if len(text) <= limit and text.isprintable():  # nearly every value: nothing to do
        return text
    text = escape(text)
    if len(text) <= limit:
        return text
    marker = f"…[truncated {len(text)} chars]"
    return text[: max(limit - len(marker), 0)] + marker[:limit]


def clip_field(name: str, value: str | None) -> str | None:
    """A record field's value escaped and cut to its column's size."""
    return None if value is None else clip(value, LIMITS[name])


def new_record(
    *,
    ts: datetime,
    principal: str,
    transport: str,
    method: str,
    decision: str,
    reason: str | None,
    request_id: str | int | None = None,
    server: str | None = None,
    tool: str | None = None,
    duration_ms: float | None = None,
    session_id: str | None = None,
    protocol_version: str | None = None,
    remote: str | None = None,
    via: str | None = None,
    arguments: Any = None,
    detail: str | None = None,
) -> AuditRecord:
    """An audit record whose every value is escaped and cut to size, with the session id hashed."""
    return AuditRecord(
        ts=ts,
        request_id=None if request_id is None else clip(str(request_id), LIMITS["request_id"]),
        principal=clip(principal, LIMITS["principal"]),
        transport=clip(transport, LIMITS["transport"]),
        method=clip(method, LIMITS["method"]),
        server=clip_field("server", server),
        tool=clip_field("tool", tool),
        decision=clip(decision, LIMITS["decision"]),
        reason=clip_field("reason", reason),
        duration_ms=duration_ms,
        session=session_hash(session_id),
        protocol_version=clip_field("protocol_version", protocol_version),
        remote=clip_field("remote", remote),
        via=clip_field("via", via),
        arguments=None if arguments is None else bounded_json(arguments),
        detail=clip_field("detail", detail),
    )


def sanitized(record: AuditRecord) -> AuditRecord:
    """`record` with any value that is not printable or too long for its column escaped and cut (the store's
    last line of defence for records built elsewhere; a clean record is returned as it is)."""
    changes: dict[str, Any] = {}
    for name, limit in LIMITS.items():
        value = getattr(record, name)
        if isinstance(value, str):
            if len(value) > limit or not value.isprintable():
                changes[name] = clip(value, limit)
        elif value is not None:
            changes[name] = clip(str(value), limit)
    if record.arguments is not None:
        bounded = bounded_json(record.arguments)
        if bounded != record.arguments:
            changes["arguments"] = bounded
    return dataclasses.replace(record, **changes) if changes else record


def session_hash(session_id: str | None) -> str | None:
    """What the audit keeps of a session id: enough to group one session's records, useless to hijack it."""
    if session_id is None:
        return None
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def bounded_json(value: Any, depth: int = 0) -> Any:
    """A JSON-like value with every string escaped and cut, and containers cut at a size and depth."""
    if isinstance(value, str):
        return clip(value, MAX_ARGUMENT_TEXT)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= MAX_ARGUMENT_DEPTH:
        return "…[nested too deep]"
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {clip(str(k), 128): bounded_json(v, depth + 1) for k, v in items[:MAX_ARGUMENT_ITEMS]}
        if len(items) > MAX_ARGUMENT_ITEMS:
            out["…"] = f"[truncated {len(items)} entries]"
        return out
    if isinstance(value, list | tuple):
        out_list = [bounded_json(v, depth + 1) for v in value[:MAX_ARGUMENT_ITEMS]]
        if len(value) > MAX_ARGUMENT_ITEMS:
            out_list.append(f"…[truncated {len(value)} items]")
        return out_list
    return clip(repr(value), MAX_ARGUMENT_TEXT)
