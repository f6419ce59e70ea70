"""The async engine behind the store: SQLite pragmas and locking, PostgreSQL connection settings."""

from __future__ import annotations

import shlex
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Execution option marking a connection whose transactions write: on SQLite they BEGIN IMMEDIATE,
# taking the write lock up front (waiting up to busy_timeout) instead of failing on upgrade.
WRITE_OPTION = "switchyard_write"

SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout = 5000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)


def create_registry_engine(url: str) -> AsyncEngine:
    """An async engine for `url` (an already normalised async URL)."""
    sa_url = make_url(url)
    backend = sa_url.get_backend_name()
    if backend == "postgresql":
        sa_url, settings = _take_libpq_options(sa_url)
        connect_args: dict[str, Any] = {"server_settings": settings} if settings else {}
        return create_async_engine(sa_url, pool_pre_ping=True, connect_args=connect_args)
    engine = create_async_engine(sa_url)
    if backend == "sqlite":
        _install_sqlite_hooks(engine.sync_engine)
    return engine


def sqlite_database_path(url: str) -> str | None:
    """The file a SQLite URL points at, or None (not SQLite, or in memory)."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return None
    database = sa_url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return database


def _take_libpq_options(url: URL) -> tuple[URL, dict[str, str]]:
    """Move libpq's `options=-c name=value ...` into asyncpg server settings (asyncpg has no `options`)."""
    raw = url.query.get("options")
    if raw is None:
        return url, {}
    values = raw if isinstance(raw, tuple) else (raw,)
    settings: dict[str, str] = {}
    for value in values:
        tokens = iter(shlex.split(value))
        for token in tokens:
            if token == "-c":
                item = next(tokens, "")
            elif token.startswith(("-c", "--")):
                item = token[2:]
            else:
                raise ValueError(f"unsupported PostgreSQL option {token!r} (use -c name=value)")
            name, sep, setting = item.partition("=")
            if not sep or not name:
                raise ValueError(f"malformed PostgreSQL option {item!r} (use -c name=value)")
            settings[name.replace("-", "_")] = setting
    return url.difference_update_query(["options"]), settings


def _install_sqlite_hooks(sync_engine: Engine) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 driver: SQLAlchemy emits BEGIN itself (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
