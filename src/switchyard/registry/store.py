"""The registry's durable state behind one async object: audit, definitions, name mappings, servers, API keys, pins."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from switchyard.registry import api_keys, models
from switchyard.registry.audit_values import sanitized
from switchyard.registry.canonical import audit_hash, content_hash
from switchyard.registry.engine import WRITE_OPTION, create_registry_engine, sqlite_database_path
from switchyard.registry.migrate import upgrade_to_head
from switchyard.registry.records import (
    DEFINITION_KINDS,
    PIN_STATUSES,
    ROLES,
    ApiKey,
    AuditRecord,
    ChainBreak,
    ChainReport,
    Pin,
    StoredAuditRecord,
    StoredDefinition,
    StoredServer,
)
from switchyard.registry.urls import default_registry_url, normalize_registry_url, redact_url

log = logging.getLogger(__name__)

NameKey = tuple[str, str, str]
PinKey = tuple[str, str]

API_KEYS_STATE = "api_keys"
PINS_STATE = "pins"
_AUDIT_FIELDS = tuple(AuditRecord.__slots__)
_VERIFY_PAGE = 5000


class Store:
    """Durable registry state on SQLite or PostgreSQL. Open with `await Store.open(url)`."""

    def __init__(self, engine: AsyncEngine, url: str) -> None:
        self._engine = engine
        self._url = redact_url(url)

    @classmethod
    async def open(cls, url: str | None = None) -> Store:
        """Connect to `url` (default: `default_registry_url()`) and migrate the schema to head."""
        url = default_registry_url() if url is None else normalize_registry_url(url)
        path = sqlite_database_path(url)
        if path is not None:
            await anyio.Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_registry_engine(url)
        try:
            await upgrade_to_head(engine)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await engine.dispose()
            raise
        return cls(engine, url)

    async def close(self) -> None:
        await self._engine.dispose()

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._url

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that writes; on SQLite it takes the write lock at BEGIN."""
        async with self._engine.connect() as connection:
            connection = await connection.execution_options(**{WRITE_OPTION: True})
            async with connection.begin():
                yield connection

    def _insert(self, table: sa.Table) -> Any:
        """INSERT with ON CONFLICT support for the dialect in use."""
        # Imported here: the engine has already loaded its own dialect, and only that one is needed.
        if self._engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    # -- audit -----------------------------------------------------------------------------------

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Insert `records` in one transaction, extending the audit hash chain (values escaped and cut to fit)."""
        if not records:
            return
        table = models.audit_log
        async with self._write() as connection:
            if connection.dialect.name == "postgresql":
                # Other replicas may append at the same time; the chain needs one writer at a time.
                await connection.execute(sa.text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
            prev = await connection.scalar(sa.select(table.c.hash).order_by(table.c.id.desc()).limit(1))
            rows: list[dict[str, Any]] = []
            add = rows.append
            for record in map(sanitized, records):
                digest = audit_hash(prev, record)
                add(
                    {
                        "ts": record.ts,
                        "request_id": record.request_id,
                        "principal": record.principal,
                        "transport": record.transport,
                        "method": record.method,
                        "server": record.server,
                        "tool": record.tool,
                        "decision": record.decision,
                        "reason": record.reason,
                        "duration_ms": record.duration_ms,
                        "session": record.session,
                        "protocol_version": record.protocol_version,
                        "remote": record.remote,
                        "via": record.via,
                        "arguments": record.arguments,
                        "detail": record.detail,
                        "prev_hash": prev,
                        "hash": digest,
                    }
                )
                prev = digest
            await connection.execute(table.insert(), rows)

    async def list_audit(
        self,
        *,
        limit: int = 50,
        server: str | None = None,
        tool: str | None = None,
        decision: str | None = None,
        principal: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditRecord]:
        """The newest `limit` audit records matching every filter given, newest first."""
        entries = await self.query_audit(
            limit=limit, server=server, tool=tool, decision=decision, principal=principal, since=since, until=until
        )
        return [entry.record for entry in entries]

    async def query_audit(
        self,
        *,
        limit: int = 50,
        server: str | None = None,
        tool: str | None = None,
        decision: str | None = None,
        principal: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
    ) -> list[StoredAuditRecord]:
        """Like `list_audit`, with each record's id and chain hashes; `before_id` pages back from an earlier answer."""
        table = models.audit_log
        query = sa.select(table)
        for column, value in (
            (table.c.server, server),
            (table.c.tool, tool),
            (table.c.decision, decision),
            (table.c.principal, principal),
        ):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(table.c.ts >= since)
        if until is not None:
            query = query.where(table.c.ts < until)
        if before_id is not None:
            query = query.where(table.c.id < before_id)
        query = query.order_by(table.c.ts.desc(), table.c.id.desc()).limit(max(limit, 0))
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return [_stored_audit(row._mapping) for row in result]

    async def verify_audit(self) -> ChainReport:
        """Walk the audit log in id order, recomputing each link; report the first record where the chain breaks."""
        table = models.audit_log
        checked = 0
        prev: str | None = None
        last_id = None
        async with self._engine.connect() as connection:
            while True:
                query = sa.select(table).order_by(table.c.id).limit(_VERIFY_PAGE)
                if last_id is not None:
                    query = query.where(table.c.id > last_id)
                rows = (await connection.execute(query)).all()
                if not rows:
                    return ChainReport(checked=checked, first_break=None)
                for row in rows:
                    entry = _stored_audit(row._mapping)
                    problem = _chain_problem(entry, prev)
                    if problem is not None:
                        return ChainReport(checked=checked, first_break=ChainBreak(entry.id, problem))
                    checked += 1
                    prev = entry.hash
                    last_id = entry.id

    # -- discovered definitions ------------------------------------------------------------------

    async def save_definitions(self, server: str, kind: str, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        """Make `definitions` the stored set for (server, kind): add new, update changed, delete gone."""
        _check_kind(kind)
        table = models.definitions
        now = _now()
        hashes = {name: content_hash(definition) for name, definition in definitions.items()}
        async with self._write() as connection:
            result = await connection.execute(
                sa.select(table.c.name, table.c.content_hash).where(table.c.server == server, table.c.kind == kind)
            )
            stored = {name: digest for name, digest in result}
            gone = [{"s": server, "k": kind, "n": name} for name in stored.keys() - hashes.keys()]
            if gone:
                await connection.execute(
                    table.delete().where(
                        table.c.server == sa.bindparam("s"),
                        table.c.kind == sa.bindparam("k"),
                        table.c.name == sa.bindparam("n"),
                    ),
                    gone,
                )
            fresh = [
                {
                    "server": server,
                    "kind": kind,
                    "name": name,
                    "definition": dict(definitions[name]),
                    "content_hash": digest,
                    "first_seen": now,
                    "last_seen": now,
                }
                for name, digest in hashes.items()
                if stored.get(name) != digest
            ]
            if fresh:
                insert = self._insert(table)
                upsert = insert.on_conflict_do_update(
                    index_elements=["server", "kind", "name"],
                    set_={
                        "definition": insert.excluded.definition,
                        "content_hash": insert.excluded.content_hash,
                        "last_seen": insert.excluded.last_seen,
                    },
                )
                await connection.execute(upsert, fresh)
            if hashes:
                await connection.execute(
                    table.update().where(table.c.server == server, table.c.kind == kind).values(last_seen=now)
                )

    async def list_definitions(self, server: str | None = None, kind: str | None = None) -> list[StoredDefinition]:
        """Stored definitions, ordered by server, kind and name."""
        table = models.definitions
        query = sa.select(
            table.c.server,
            table.c.kind,
            table.c.name,
            table.c.definition,
            table.c.content_hash,
            table.c.first_seen,
            table.c.last_seen,
        )
        if server is not None:
            query = query.where(table.c.server == server)
        if kind is not None:
            _check_kind(kind)
            query = query.where(table.c.kind == kind)
        query = query.order_by(table.c.server, table.c.kind, table.c.name)
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return [StoredDefinition(**row._asdict()) for row in result]

    # -- name mappings ---------------------------------------------------------------------------

    async def load_name_mappings(self) -> dict[NameKey, str]:
        """(server, kind, original name) -> public name, for every stored mapping."""
        table = models.name_mappings
        query = sa.select(table.c.server, table.c.kind, table.c.original, table.c.public_name)
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return {(row.server, row.kind, row.original): row.public_name for row in result}

    async def save_name_mappings(self, mappings: Mapping[NameKey, str]) -> None:
        """Insert new mappings and update changed ones (each change is logged as a warning)."""
        if not mappings:
            return
        table = models.name_mappings
        now = _now()
        async with self._write() as connection:
            result = await connection.execute(
                sa.select(table.c.server, table.c.kind, table.c.original, table.c.public_name)
            )
            stored = {(row.server, row.kind, row.original): row.public_name for row in result}
            rows = []
            for key, public in mappings.items():
                old = stored.get(key)
                if old == public:
                    continue
                if old is not None:
                    log.warning("public name of %s %s/%s: %r -> %r", key[1], key[0], key[2], old, public)
                server, kind, original = key
                rows.append(
                    {
                        "server": server,
                        "kind": kind,
                        "original": original,
                        "public_name": public,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            if rows:
                insert = self._insert(table)
                upsert = insert.on_conflict_do_update(
                    index_elements=["server", "kind", "original"],
                    set_={
                        "public_name": insert.excluded.public_name,
                        "updated_at": insert.excluded.updated_at,
                    },
                )
                await connection.execute(upsert, rows)

    # -- servers ---------------------------------------------------------------------------------

    async def list_servers(self) -> list[StoredServer]:
        """Registry servers and overrides of config-file servers, by name."""
        table = models.servers
        query = sa.select(table.c.name, table.c.definition, table.c.enabled, table.c.updated_at)
        async with self._engine.connect() as connection:
            result = await connection.execute(query.order_by(table.c.name))
            return [
                StoredServer(
                    name=row.name,
                    definition=row.definition,
                    enabled=row.enabled,
                    source="config-override" if row.definition is None else "registry",
                    updated_at=row.updated_at,
                )
                for row in result
            ]

    async def upsert_server(
        self, name: str, definition: Mapping[str, Any] | None, *, enabled: bool | None = None
    ) -> None:
        """Set a server's definition (None keeps the stored one, if any) and its enabled override.

        `enabled` is always written as given: None clears the override. A row left with neither a
        definition nor an override is deleted.
        """
        table = models.servers
        now = _now()
        async with self._write() as connection:
            stored = await connection.scalar(sa.select(table.c.definition).where(table.c.name == name))
            new_definition = dict(definition) if definition is not None else stored
            if new_definition is None and enabled is None:
                await connection.execute(table.delete().where(table.c.name == name))
                return
            insert = self._insert(table)
            upsert = insert.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "definition": insert.excluded.definition,
                    "enabled": insert.excluded.enabled,
                    "updated_at": insert.excluded.updated_at,
                },
            )
            await connection.execute(
                upsert,
                {
                    "name": name,
                    "definition": new_definition,
                    "enabled": enabled,
                    "created_at": now,
                    "updated_at": now,
                },
            )

    async def remove_server(self, name: str) -> bool:
        """Delete a registry server or override; False when there was none."""
        table = models.servers
        async with self._write() as connection:
            result = await connection.execute(table.delete().where(table.c.name == name))
            return result.rowcount > 0

    # -- API keys --------------------------------------------------------------------------------

    async def create_api_key(self, name: str, profile: str | None, role: str) -> tuple[ApiKey, str]:
        """A new key and its secret (returned once; only its SHA-256 is stored). Names are unique among active keys."""
        name = name.strip()
        if not name:
            raise ValueError("an API key needs a name")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {sorted(ROLES)}")
        table = models.api_keys
        key = ApiKey(key_id=api_keys.new_key_id(), name=name, profile=profile, role=role, created_at=_now())
        secret = api_keys.new_secret(key.key_id)
        async with self._write() as connection:
            taken = await connection.scalar(
                sa.select(sa.func.count()).where(table.c.name == name, table.c.revoked_at.is_(None))
            )
            if taken:
                raise ValueError(f"an active API key named {name!r} exists; revoke it first")
            await connection.execute(
                table.insert(),
                {
                    "key_id": key.key_id,
                    "name": key.name,
                    "profile": key.profile,
                    "role": key.role,
                    "secret_hash": api_keys.hash_secret(secret),
                    "created_at": key.created_at,
                },
            )
            await self._bump(connection, API_KEYS_STATE)
        return key, secret

    async def list_api_keys(self, *, include_revoked: bool = True) -> list[ApiKey]:
        """Keys in creation order (never their secrets)."""
        table = models.api_keys
        query = sa.select(*_API_KEY_COLUMNS).order_by(table.c.created_at, table.c.key_id)
        if not include_revoked:
            query = query.where(table.c.revoked_at.is_(None))
        async with self._engine.connect() as connection:
            return [ApiKey(**row._asdict()) for row in await connection.execute(query)]

    async def active_api_keys(self) -> dict[str, ApiKey]:
        """Secret digest -> key, for every key not revoked: what an authenticator keeps in memory."""
        table = models.api_keys
        query = sa.select(table.c.secret_hash, *_API_KEY_COLUMNS).where(table.c.revoked_at.is_(None))
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return {
                row.secret_hash: ApiKey(**{c.name: getattr(row, c.name) for c in _API_KEY_COLUMNS}) for row in result
            }

    async def revoke_api_key(self, key_id: str) -> ApiKey | None:
        """Revoke a key (again: no change); None when there is no such key."""
        table = models.api_keys
        async with self._write() as connection:
            await connection.execute(
                table.update().where(table.c.key_id == key_id, table.c.revoked_at.is_(None)).values(revoked_at=_now())
            )
            row = (await connection.execute(sa.select(*_API_KEY_COLUMNS).where(table.c.key_id == key_id))).first()
            if row is None:
                return None
            await self._bump(connection, API_KEYS_STATE)
            return ApiKey(**row._asdict())

    async def record_api_key_use(self, last_used: Mapping[str, datetime]) -> None:
        """Write when keys were last used (key id -> time), batched by the caller; never moves a time backwards."""
        if not last_used:
            return
        table = models.api_keys
        async with self._write() as connection:
            await connection.execute(
                table.update()
                .where(
                    table.c.key_id == sa.bindparam("k"),
                    sa.or_(table.c.last_used_at.is_(None), table.c.last_used_at < sa.bindparam("t")),
                )
                .values(last_used_at=sa.bindparam("t")),
                [{"k": key_id, "t": ts} for key_id, ts in last_used.items()],
            )

    async def api_keys_version(self) -> int:
        """A counter that changes whenever a key is created or revoked (0 before any)."""
        return await self.state_version(API_KEYS_STATE)

    # -- pins ------------------------------------------------------------------------------------

    async def load_pins(self) -> dict[PinKey, Pin]:
        """(server, tool) -> pin, for every pinned tool."""
        table = models.pins
        query = sa.select(*_PIN_COLUMNS).order_by(table.c.server, table.c.tool)
        async with self._engine.connect() as connection:
            return {(row.server, row.tool): Pin(**row._asdict()) for row in await connection.execute(query)}

    async def save_pin(self, pin: Pin) -> Pin:
        """Insert or replace the pin of (pin.server, pin.tool); first_seen is kept from the stored pin. Returns it."""
        if pin.status not in PIN_STATUSES:
            raise ValueError(f"unknown pin status {pin.status!r}; expected one of {sorted(PIN_STATUSES)}")
        table = models.pins
        now = _now()
        values = {
            "server": pin.server,
            "tool": pin.tool,
            "hash": pin.hash,
            "definition": dict(pin.definition),
            "status": pin.status,
            "pending_hash": pin.pending_hash,
            "pending_definition": None if pin.pending_definition is None else dict(pin.pending_definition),
            "findings": [dict(finding) for finding in pin.findings],
            "first_seen": pin.first_seen or now,
            "updated_at": now,
            "approved_by": pin.approved_by,
        }
        async with self._write() as connection:
            insert = self._insert(table)
            upsert = insert.on_conflict_do_update(
                index_elements=["server", "tool"],
                set_={name: getattr(insert.excluded, name) for name in values if name not in _PIN_KEY_AND_AGE},
            )
            await connection.execute(upsert, values)
            await self._bump(connection, PINS_STATE)
            row = (
                await connection.execute(
                    sa.select(*_PIN_COLUMNS).where(table.c.server == pin.server, table.c.tool == pin.tool)
                )
            ).one()
            return Pin(**row._asdict())

    async def approve_pin(self, server: str, tool: str, actor: str) -> Pin | None:
        """Accept a tool's pending definition (or lift its quarantine); None when the tool has no pin."""
        table = models.pins
        where = (table.c.server == server, table.c.tool == tool)
        async with self._write() as connection:
            row = (await connection.execute(sa.select(*_PIN_COLUMNS).where(*where))).first()
            if row is None:
                return None
            pin = Pin(**row._asdict())
            values: dict[str, Any] = {
                "status": "approved",
                "pending_hash": None,
                "pending_definition": None,
                "updated_at": _now(),
                "approved_by": actor,
            }
            if pin.pending_hash is not None and pin.pending_definition is not None:
                values |= {"hash": pin.pending_hash, "definition": pin.pending_definition}
            await connection.execute(table.update().where(*where).values(**values))
            await self._bump(connection, PINS_STATE)
            row = (await connection.execute(sa.select(*_PIN_COLUMNS).where(*where))).one()
            return Pin(**row._asdict())

    async def remove_pins(self, server: str, tool: str | None = None) -> int:
        """Forget the pins of a server (or one of its tools); how many were removed."""
        table = models.pins
        query = table.delete().where(table.c.server == server)
        if tool is not None:
            query = query.where(table.c.tool == tool)
        async with self._write() as connection:
            removed = (await connection.execute(query)).rowcount
            if removed:
                await self._bump(connection, PINS_STATE)
            return removed

    async def pins_version(self) -> int:
        """A counter that changes whenever a pin is saved, approved or removed (0 before any)."""
        return await self.state_version(PINS_STATE)

    # -- state versions --------------------------------------------------------------------------

    async def state_version(self, name: str) -> int:
        """The change counter of one kind of cached state (0 before its first change)."""
        table = models.state_versions
        async with self._engine.connect() as connection:
            value = await connection.scalar(sa.select(table.c.version).where(table.c.name == name))
            return int(value or 0)

    async def _bump(self, connection: AsyncConnection, name: str) -> None:
        table = models.state_versions
        insert = self._insert(table)
        await connection.execute(
            insert.on_conflict_do_update(index_elements=["name"], set_={"version": table.c.version + 1}),
            {"name": name, "version": 1},
        )


def _check_kind(kind: str) -> None:
    if kind not in DEFINITION_KINDS:
        raise ValueError(f"unknown definition kind {kind!r}; expected one of {sorted(DEFINITION_KINDS)}")


def _now() -> datetime:
    return datetime.now(UTC)


_API_KEY_COLUMNS = tuple(
    getattr(models.api_keys.c, name)
    for name in ("key_id", "name", "profile", "role", "created_at", "revoked_at", "last_used_at")
)
_PIN_COLUMNS = tuple(
    getattr(models.pins.c, name)
    for name in (
        "server",
        "tool",
        "hash",
        "definition",
        "status",
        "pending_hash",
        "pending_definition",
        "findings",
        "first_seen",
        "updated_at",
        "approved_by",
    )
)
_PIN_KEY_AND_AGE = frozenset({"server", "tool", "first_seen"})


def _stored_audit(row: sa.RowMapping) -> StoredAuditRecord:
    return StoredAuditRecord(
        id=row["id"],
        record=AuditRecord(**{name: row[name] for name in _AUDIT_FIELDS}),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _chain_problem(entry: StoredAuditRecord, prev: str | None) -> str | None:
    """What is wrong with one link of the chain, or None. `prev` is the hash of the record before it (None: first)."""
    if entry.hash is None:
        return "record has no hash"
    if entry.prev_hash != prev:
        return (
            f"prev_hash {entry.prev_hash} is not the previous record's hash {prev} "
            "(a record before it was removed, inserted or changed)"
        )
    expected = audit_hash(entry.prev_hash, entry.record)
    if entry.hash != expected:
        return f"stored hash {entry.hash} does not match its content, which hashes to {expected} (a field was changed)"
    return None
