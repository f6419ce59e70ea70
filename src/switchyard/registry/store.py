"""The registry's durable state behind one async object: audit, definitions, name mappings, servers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from switchyard.registry import models
from switchyard.registry.canonical import audit_hash, content_hash
from switchyard.registry.engine import WRITE_OPTION, create_registry_engine, sqlite_database_path
from switchyard.registry.migrate import upgrade_to_head
from switchyard.registry.records import (
    DEFINITION_KINDS,
    AuditRecord,
    StoredDefinition,
    StoredServer,
)
from switchyard.registry.urls import default_registry_url, normalize_registry_url, redact_url

log = logging.getLogger(__name__)

NameKey = tuple[str, str, str]


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
        """Insert `records` in one transaction, extending the audit hash chain."""
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
            for record in records:
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
    ) -> list[AuditRecord]:
        """The newest `limit` audit records matching every filter given, newest first."""
        table = models.audit_log
        query = sa.select(
            table.c.ts,
            table.c.request_id,
            table.c.principal,
            table.c.transport,
            table.c.method,
            table.c.server,
            table.c.tool,
            table.c.decision,
            table.c.reason,
            table.c.duration_ms,
        )
        for column, value in ((table.c.server, server), (table.c.tool, tool), (table.c.decision, decision)):
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(table.c.ts.desc(), table.c.id.desc()).limit(max(limit, 0))
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return [AuditRecord(**row._asdict()) for row in result]

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


def _check_kind(kind: str) -> None:
    if kind not in DEFINITION_KINDS:
        raise ValueError(f"unknown definition kind {kind!r}; expected one of {sorted(DEFINITION_KINDS)}")


def _now() -> datetime:
    return datetime.now(UTC)
