"""Brings a registry database to the newest schema with the Alembic scripts packaged here."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from switchyard.registry.engine import WRITE_OPTION

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "switchyard_alembic_version"
# Serialises concurrent migrations from several replicas sharing one PostgreSQL database.
_PG_LOCK_KEY = 0x5377_7964  # "Swyd"


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Run every pending migration, in one transaction, holding the database's write lock."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(**{WRITE_OPTION: True})
        async with connection.begin():
            await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
