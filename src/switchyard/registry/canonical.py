"""Canonical JSON and the sha256 digests computed over it."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from switchyard.registry.records import AuditRecord


def canonical_json(value: Any) -> bytes:
    """Serialise `value` with sorted keys and compact separators, so equal content gives equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(value: Any) -> str:
    """Hex sha256 of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def as_utc(ts: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def audit_hash(prev_hash: str | None, record: AuditRecord) -> str:
    """Link of the audit hash chain: sha256(prev_hash + canonical record)."""
    body = {
        "ts": as_utc(record.ts).isoformat(),
        "request_id": record.request_id,
        "principal": record.principal,
        "transport": record.transport,
        "method": record.method,
        "server": record.server,
        "tool": record.tool,
        "decision": record.decision,
        "reason": record.reason,
        "duration_ms": None if record.duration_ms is None else float(record.duration_ms),
    }
    return hashlib.sha256((prev_hash or "").encode() + canonical_json(body)).hexdigest()
