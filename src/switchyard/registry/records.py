"""The plain values the registry stores and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

DEFINITION_KINDS: frozenset[str] = frozenset({"tool", "prompt", "resource", "resource_template"})

ServerSource = Literal["registry", "config-override"]
Role = Literal["client", "admin"]
ROLES: frozenset[str] = frozenset({"client", "admin"})
PinStatus = Literal["approved", "pending", "quarantined"]
PIN_STATUSES: frozenset[str] = frozenset({"approved", "pending", "quarantined"})


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audited request or admin action: who asked what, and what the gateway decided.

    `decision` is allow | deny | reject | error. `session` is a hash of the session id, never the id itself;
    `via` is "meta" when a tool was reached through the call_tool meta-tool; `arguments` holds the call's
    arguments as the redaction policy left them (None: not recorded); `detail` names the rule that decided.
    """

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
    session: str | None = None
    protocol_version: str | None = None
    remote: str | None = None
    via: str | None = None
    arguments: Any = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class StoredAuditRecord:
    """An audit record as stored: its id and its place in the hash chain."""

    id: int
    record: AuditRecord
    prev_hash: str | None
    hash: str | None


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first audit record whose hash chain does not hold, and what differs."""

    id: int
    problem: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What `Store.verify_audit` found: how many records it checked, and the first break if any."""

    checked: int
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


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


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's public facts; the secret itself is never stored (only its SHA-256)."""

    key_id: str
    name: str
    profile: str | None
    role: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Pin:
    """A tool's pinned (approved) definition, and a changed one waiting for approval if any.

    `hash` and `definition` are what clients are served; `pending_hash`/`pending_definition` hold a changed
    definition held back until approved; `findings` are the poisoning scan's findings (plain dicts).
    """

    server: str
    tool: str
    hash: str
    definition: dict[str, Any]
    status: str = "approved"
    pending_hash: str | None = None
    pending_definition: dict[str, Any] | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    first_seen: datetime | None = None
    updated_at: datetime | None = None
    approved_by: str | None = None
