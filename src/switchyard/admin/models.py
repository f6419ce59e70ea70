"""What the admin API reads and answers, as pydantic models: the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

ServerName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="The server's name.")]
Text = Annotated[str, Field(max_length=4096)]
Decision = Literal["allow", "deny", "reject", "error"]


def _iso_8601(value: Any) -> Any:
    # Only ISO 8601 text: pydantic would otherwise read "0.5" as a Unix time.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_8601)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerFields(_In):
    """A backend definition: `command` is one executable and `args` its argument list; no shell is ever used."""

    type: Literal["stdio", "http", "sse"] | None = None
    command: Text | None = Field(None, description="One executable (a name or a path), without arguments.")
    args: list[Text] | None = Field(None, max_length=256)
    env: dict[Text, Text] | None = Field(None, max_length=256)
    cwd: Text | None = None
    url: Text | None = Field(None, description="http(s) URL; internal addresses need egress.allow.")
    headers: dict[Text, Text] | None = Field(None, max_length=64)
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")] | None = None
    timeout: Annotated[float, Field(gt=0, le=86400)] | None = None


class ServerCreate(ServerFields):
    name: ServerName
    enabled: bool = True


class ServerPatch(ServerFields):
    """Fields to change (absent: unchanged). A config-file server can only be enabled or disabled."""

    enabled: bool | None = None


class ServerOut(BaseModel):
    """A server with its secrets hidden: env and header values show as *** or as their ${VAR} reference."""

    name: str
    source: Literal["config", "registry"]
    type: str
    enabled: bool
    command: str | None = None
    args: list[str] = []
    env: dict[str, str] = {}
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    prefix: str | None = None
    timeout: float | None = None


class ToolOut(BaseModel):
    name: str = Field(description="The public name clients call.")
    server: str
    original_name: str
    title: str | None = None
    description: str | None = None


class PinOut(BaseModel):
    server: str
    tool: str
    status: Literal["approved", "pending", "quarantined"]
    hash: str
    pending_hash: str | None
    findings: list[dict[str, Any]]
    first_seen: datetime | None
    updated_at: datetime | None
    approved_by: str | None


class PinDetail(PinOut):
    definition: dict[str, Any]
    pending_definition: dict[str, Any] | None
    diff: list[str] = Field(description="Unified diff of the approved definition against the held-back one.")


class KeyCreate(_In):
    name: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.@-]+$")]
    profile: Annotated[str, Field(max_length=255)] | None = None
    role: Literal["client", "admin"] = "client"


class KeyOut(BaseModel):
    key_id: str
    name: str
    profile: str | None
    role: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyOut):
    secret: str = Field(description="The key's secret: shown this once, stored only as its SHA-256.")


class AuditOut(BaseModel):
    id: int
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
    session: str | None
    protocol_version: str | None
    remote: str | None
    via: str | None
    arguments: Any = None
    detail: str | None
    hash: str | None
    prev_hash: str | None


class AuditQuery(BaseModel):
    """Filters of an audit query (query-string parameters; others are ignored)."""

    limit: Annotated[int, Field(ge=1, le=1000)] = 50
    server: str | None = None
    tool: str | None = None
    decision: Decision | None = None
    principal: str | None = None
    since: IsoDatetime | None = None
    until: IsoDatetime | None = None
    before_id: Annotated[int, Field(ge=1, le=2**62)] | None = None


class ChainOut(BaseModel):
    intact: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    error: str
    message: str
    detail: list[FieldError] = []
