"""Brings a registry database to the newest schema with the Alembic scripts packaged here.

Opening a registry that is already current costs one plain read: no write lock (so concurrent CLI commands
and replicas do not queue behind each other) and no Alembic import (so the gateway starts faster). Alembic
is imported, and the write lock taken, only when the schema really has to change.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from switchyard.registry.engine import WRITE_OPTION

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "switchyard_alembic_version"
# The newest revision in migrations/versions. Bump it with every new migration script: a database at this
# revision skips Alembic entirely (a unit test checks it matches the scripts' head).
HEAD_REVISION = "0002"
# Serialises concurrent migrations from several replicas sharing one PostgreSQL database.
_PG_LOCK_KEY = 0x5377_7964  # "Swyd"


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Run every pending migration, in one transaction, holding the database's write lock.

    A database already at `HEAD_REVISION` is recognised with a plain read and left alone. Otherwise Alembic
    runs under the lock and checks the revision again itself, so racing openers migrate once.
    """
    if await current_revisions(engine) == {HEAD_REVISION}:
        return
    async with engine.connect() as connection:
        connection = await connection.execution_options(**{WRITE_OPTION: True})
        async with connection.begin():
            await connection.run_sync(_upgrade)


async def current_revisions(engine: AsyncEngine) -> set[str]:
    """The revisions the database records (empty when it was never migrated), read without any lock."""
    async with engine.connect() as connection:
        return await connection.run_sync(_read_revisions)


def _read_revisions(connection: Connection) -> set[str]:
    # Looked up the way Alembic looks for its version table (the default schema / search_path).
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return set()
    query: sa.Select[tuple[str]] = sa.select(sa.column("version_num")).select_from(sa.table(VERSION_TABLE))
    return set(connection.scalars(query))


def _upgrade(connection: Connection) -> None:
    from alembic import command  # imported here: only a database that needs migrating pays for Alembic
    from alembic.config import Config

    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
