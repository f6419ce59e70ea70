"""The administration operations behind both the CLI and the admin API: each checks its input, does one thing,
and leaves an audit record naming who did it.

Servers defined through here live in the registry and start with the next `switchyard serve`, as with
`switchyard servers add`. A definition is an argv list, never a shell string; its URL passes the egress
policy; setting a command at all can be switched off (`admin.allow_command_changes`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from switchyard.admin.models import (
    AuditOut,
    AuditQuery,
    ChainOut,
    KeyCreate,
    KeyCreated,
    KeyOut,
    PinDetail,
    PinOut,
    ServerCreate,
    ServerFields,
    ServerOut,
    ServerPatch,
    ToolOut,
)
from switchyard.config import Config, ConfigError, ServerConfig, server_config_from_dict
from switchyard.egress import EgressDenied, check_url
from switchyard.observability.redaction import Redactor, config_secrets
from switchyard.registry.audit_values import new_record
from switchyard.registry.records import ApiKey, AuditRecord, Pin, StoredServer
from switchyard.security.pinning import pin_diff

if TYPE_CHECKING:
    from switchyard.registry import Store

AuditSink = Callable[[AuditRecord], Awaitable[None]]
# Fields that decide what process a server runs: changing them is running a command on the gateway's host.
COMMAND_FIELDS = ("command", "args", "env", "cwd")
_FORBIDDEN_IN_TEXT = {"\x00", "\r", "\n"}


class AdminError(Exception):
    """A refused admin operation: an HTTP status, a stable error name, the message, and the audit reason."""

    def __init__(
        self, status: int, error: str, message: str, *, field: str | None = None, audit_reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.field = field
        self.audit_reason = audit_reason or error

    @property
    def decision(self) -> str:
        return "deny" if self.status < 500 else "error"


def store_sink(store: Store) -> AuditSink:
    """Write each admin action's record straight to the store (the CLI has no batching writer)."""

    async def record(entry: AuditRecord) -> None:
        await store.append_audit([entry])

    return record


def not_found(what: str) -> AdminError:
    return AdminError(404, "not_found", f"no {what}")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs an admin operation, for the audit log."""

    principal: str
    transport: str  # "admin" (the API) or "cli"
    remote: str | None = None


class AdminService:
    def __init__(
        self,
        config: Config,
        store: Store,
        record: AuditSink,
        *,
        tools: Callable[[], list[ToolOut]] | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._record = record
        self._tools = tools

    # -- servers ---------------------------------------------------------------------------------------------

    async def list_servers(self) -> list[ServerOut]:
        merged, stored = await self._servers()
        redactor = Redactor(config_secrets(merged))
        return [_server_out(server, stored.get(name), redactor) for name, server in merged.servers.items()]

    async def get_server(self, name: str) -> ServerOut:
        merged, stored = await self._servers()
        server = merged.servers.get(name)
        if server is None:
            raise not_found(f"server named {name!r}")
        return _server_out(server, stored.get(name), Redactor(config_secrets(merged)))

    async def create_server(self, actor: Actor, body: ServerCreate) -> ServerOut:
        async with self._action(actor, "servers/create", server=body.name):
            merged, stored = await self._servers()
            if body.name in merged.servers or body.name in stored:
                raise AdminError(409, "conflict", f"a server named {body.name!r} already exists")
            definition = _definition(body)
            await self._check_definition(definition, touched=set(definition))
            server = _validated(body.name, definition)
            clash = next((s.name for s in merged.servers.values() if s.namespace == server.namespace), None)
            if clash is not None:
                raise AdminError(
                    409, "conflict", f"server {body.name!r} would share the namespace of server {clash!r}", field="name"
                )
            await self._store.upsert_server(body.name, definition, enabled=None if body.enabled else False)
        return await self.get_server(body.name)

    async def update_server(self, actor: Actor, name: str, body: ServerPatch) -> ServerOut:
        async with self._action(actor, "servers/update", server=name):
            merged, stored = await self._servers()
            if name not in merged.servers:
                raise not_found(f"server named {name!r}")
            changes = body.model_dump(exclude_unset=True, exclude={"enabled"})
            self._check_command_policy(set(changes))
            entry = stored.get(name)
            definition = entry.definition if entry is not None else None
            if changes and definition is None:
                raise AdminError(
                    409,
                    "conflict",
                    f"server {name!r} is defined in the config file: only 'enabled' can change through the API",
                )
            if changes and definition is not None:
                definition = {k: v for k, v in {**definition, **changes}.items() if v is not None}
                await self._check_definition(definition, touched=set(changes))
                _validated(name, definition)
            enabled = entry.enabled if entry is not None else None
            if body.enabled is not None:
                enabled = _override(body.enabled, name, self._config, definition)
            await self._store.upsert_server(name, definition if changes else None, enabled=enabled)
        return await self.get_server(name)

    async def delete_server(self, actor: Actor, name: str) -> None:
        async with self._action(actor, "servers/delete", server=name):
            _, stored = await self._servers()
            entry = stored.get(name)
            if entry is None or entry.definition is None:
                if name in self._config.servers:
                    raise AdminError(409, "conflict", f"server {name!r} is defined in the config file; disable it")
                raise not_found(f"server named {name!r}")
            await self._store.remove_server(name)

    async def _servers(self) -> tuple[Config, dict[str, StoredServer]]:
        stored = {s.name: s for s in await self._store.list_servers()}
        servers = dict(self._config.servers)
        for entry in stored.values():
            if entry.definition is not None:
                try:
                    servers[entry.name] = server_config_from_dict(entry.name, entry.definition)
                except ConfigError:
                    continue
            if entry.enabled is not None and entry.name in servers:
                servers[entry.name] = servers[entry.name].model_copy(update={"disabled": not entry.enabled})
        return self._config.model_copy(update={"servers": servers}), stored

    def _check_command_policy(self, touched: set[str], *, runs_command: bool = False) -> None:
        if (touched & set(COMMAND_FIELDS) or (runs_command and "type" in touched)) and not (
            self._config.admin.allow_command_changes
        ):
            raise AdminError(
                403,
                "forbidden",
                "setting a server's command, args, env or cwd through the API is disabled "
                "(admin.allow_command_changes: false); use the config file or `switchyard servers add`",
            )

    async def _check_definition(self, definition: dict[str, Any], *, touched: set[str]) -> None:
        runs_command = definition.get("type", "stdio" if "url" not in definition else "http") == "stdio"
        self._check_command_policy(touched, runs_command=runs_command)
        command = definition.get("command")
        if isinstance(command, str) and (not command.strip() or any(ch.isspace() for ch in command)):
            raise AdminError(
                422,
                "invalid",
                "command must be one executable without spaces; give its arguments in args (no shell is used)",
                field="command",
            )
        for field in ("command", "cwd", "url"):
            _check_text(definition.get(field), field)
        for index, arg in enumerate(definition.get("args") or []):
            _check_text(arg, f"args.{index}")
        for field in ("env", "headers"):
            for key, value in (definition.get(field) or {}).items():
                _check_text(key, f"{field}.{key}")
                _check_text(value, f"{field}.{key}")
        url = definition.get("url")
        if isinstance(url, str):
            try:
                await check_url(url, self._config.egress.allow)
            except EgressDenied as exc:
                raise AdminError(422, "invalid", str(exc), field="url", audit_reason="egress_denied") from None

    # -- tools and pins --------------------------------------------------------------------------------------

    def list_tools(self) -> list[ToolOut]:
        return self._tools() if self._tools is not None else []

    async def list_pins(self) -> list[PinOut]:
        return [PinOut(**_pin_fields(pin)) for pin in (await self._store.load_pins()).values()]

    async def get_pin(self, server: str, tool: str) -> PinDetail:
        pin = (await self._store.load_pins()).get((server, tool))
        if pin is None:
            raise not_found(f"pin for {server}:{tool}")
        return PinDetail(
            **_pin_fields(pin),
            definition=pin.definition,
            pending_definition=pin.pending_definition,
            diff=pin_diff(pin),
        )

    async def approve_pin(self, actor: Actor, server: str, tool: str) -> PinDetail:
        async with self._action(actor, "pins/approve", server=server, tool=tool, success="pin_approved"):
            if await self._store.approve_pin(server, tool, actor.principal) is None:
                raise not_found(f"pin for {server}:{tool}")
        return await self.get_pin(server, tool)

    # -- API keys --------------------------------------------------------------------------------------------

    async def list_keys(self) -> list[KeyOut]:
        return [_key_out(key) for key in await self._store.list_api_keys()]

    async def create_key(self, actor: Actor, body: KeyCreate) -> KeyCreated:
        async with self._action(actor, "keys/create", tool=body.name):
            if body.profile is not None and body.profile not in self._config.profiles:
                known = ", ".join(self._config.profiles) or "none"
                raise AdminError(422, "invalid", f"no profile named {body.profile!r} (known: {known})", field="profile")
            try:
                key, secret = await self._store.create_api_key(body.name, body.profile, body.role)
            except ValueError as exc:
                raise AdminError(409, "conflict", str(exc), field="name") from None
        return KeyCreated(**_key_out(key).model_dump(), secret=secret)

    async def revoke_key(self, actor: Actor, key_id: str) -> KeyOut:
        async with self._action(actor, "keys/revoke", tool=key_id):
            key = await self._store.revoke_api_key(key_id)
            if key is None:
                raise not_found(f"API key with id {key_id!r}")
        return _key_out(key)

    # -- audit -----------------------------------------------------------------------------------------------

    async def query_audit(self, query: AuditQuery) -> list[AuditOut]:
        entries = await self._store.query_audit(**query.model_dump())
        return [AuditOut(id=e.id, hash=e.hash, prev_hash=e.prev_hash, **_record_fields(e.record)) for e in entries]

    async def verify_audit(self) -> ChainOut:
        report = await self._store.verify_audit()
        broken = report.first_break
        return ChainOut(
            intact=report.intact,
            checked=report.checked,
            first_broken_id=None if broken is None else broken.id,
            problem=None if broken is None else broken.problem,
        )

    # -- auditing admin actions ------------------------------------------------------------------------------

    @asynccontextmanager
    async def _action(
        self, actor: Actor, method: str, *, server: str | None = None, tool: str | None = None, success: str = "ok"
    ) -> AsyncIterator[None]:
        started = time.perf_counter()
        decision, reason, detail = "allow", success, None
        try:
            yield
        except AdminError as exc:
            decision, reason, detail = exc.decision, exc.audit_reason, exc.field
            raise
        except BaseException:
            decision, reason = "error", "internal_error"
            raise
        finally:
            await self._record(
                new_record(
                    ts=datetime.now(UTC),
                    principal=actor.principal,
                    transport=actor.transport,
                    method=f"admin/{method}",
                    decision=decision,
                    reason=reason,
                    server=server,
                    tool=tool,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                    remote=actor.remote,
                    detail=detail,
                )
            )


def _definition(body: ServerFields) -> dict[str, Any]:
    return body.model_dump(exclude_none=True, exclude={"name", "enabled"})


def _validated(name: str, definition: dict[str, Any]) -> ServerConfig:
    try:
        return server_config_from_dict(name, definition, source="<admin API>")
    except ConfigError as exc:
        raise AdminError(422, "invalid", str(exc)) from None


def _check_text(value: Any, field: str) -> None:
    if isinstance(value, str) and _FORBIDDEN_IN_TEXT & set(value):
        raise AdminError(422, "invalid", "line breaks and NUL characters are not allowed here", field=field)


def _override(enabled: bool, name: str, config: Config, definition: dict[str, Any] | None) -> bool | None:
    """The enabled override to store: none where it would only repeat what the config file says."""
    file_server = config.servers.get(name)
    if definition is None and file_server is not None and enabled == (not file_server.disabled):
        return None
    return enabled


def _server_out(server: ServerConfig, stored: StoredServer | None, redactor: Redactor) -> ServerOut:
    shown = server.redacted()
    return ServerOut(
        name=server.name,
        source="registry" if stored is not None and stored.definition is not None else "config",
        type=server.type,
        enabled=not server.disabled,
        command=_masked(shown.get("command"), redactor),
        args=[redactor.redact(str(arg)) for arg in shown.get("args", [])],
        env=shown.get("env", {}),
        cwd=shown.get("cwd"),
        url=_masked(shown.get("url"), redactor),
        headers=shown.get("headers", {}),
        prefix=server.prefix,
        timeout=server.timeout,
    )


def _masked(value: Any, redactor: Redactor) -> str | None:
    return None if value is None else redactor.redact(str(value))


def _pin_fields(pin: Pin) -> dict[str, Any]:
    return {
        "server": pin.server,
        "tool": pin.tool,
        "status": pin.status,
        "hash": pin.hash,
        "pending_hash": pin.pending_hash,
        "findings": pin.findings,
        "first_seen": pin.first_seen,
        "updated_at": pin.updated_at,
        "approved_by": pin.approved_by,
    }


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        key_id=key.key_id,
        name=key.name,
        profile=key.profile,
        role=key.role,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


def _record_fields(record: AuditRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in AuditRecord.__slots__}
