"""The plain values the registry stores and returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

DEFINITION_KINDS: frozenset[str] = frozenset({"tool", "prompt", "resource", "resource_template"})

ServerSource = Literal["registry", "config-override"]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audited request: who asked what, and what the gateway decided."""

    ts: datetime
    request_id: str | None
    principal: str
    transport: str
    method: str
    server: str | None
    tool: str | None
    decision: str
    reason: str | None
    duration_ms: float | None


@dataclass(frozen=True, slots=True)
class StoredDefinition:
    """A tool, prompt, resource or resource template as a backend last reported it."""

    server: str
    kind: str
    name: str
    definition: dict[str, Any]
    content_hash: str
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class StoredServer:
    """A server added through the CLI/admin API, or an enable/disable override of a config-file server."""

    name: str
    definition: dict[str, Any] | None
    enabled: bool | None
    source: ServerSource
    updated_at: datetime
