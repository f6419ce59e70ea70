"""The registry's tables (SQLAlchemy Core), as the migrations leave them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from switchyard.registry.canonical import as_utc


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset: store UTC, re-attach it on read)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


# SQLite only autoincrements an INTEGER PRIMARY KEY; elsewhere audit ids get 64 bits.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON(none_as_null=True)

metadata = sa.MetaData()

servers = sa.Table(
    "servers",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("definition", _JSON, nullable=True),
    sa.Column("enabled", sa.Boolean(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

definitions = sa.Table(
    "definitions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("server", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("definition", _JSON, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("first_seen", UTCDateTime(), nullable=False),
    sa.Column("last_seen", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("server", "kind", "name", name="uq_definitions_server_kind_name"),
)

name_mappings = sa.Table(
    "name_mappings",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("server", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("original", sa.Text(), nullable=False),
    sa.Column("public_name", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("public_name", "kind", name="uq_name_mappings_public_name_kind"),
    sa.UniqueConstraint("server", "kind", "original", name="uq_name_mappings_server_kind_original"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("ts", UTCDateTime(), nullable=False, index=True),
    sa.Column("request_id", sa.Text(), nullable=True),
    sa.Column("principal", sa.String(255), nullable=False),
    sa.Column("transport", sa.String(16), nullable=False),
    sa.Column("method", sa.String(128), nullable=False),
    sa.Column("server", sa.String(255), nullable=True, index=True),
    sa.Column("tool", sa.Text(), nullable=True, index=True),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=True),
    sa.Column("duration_ms", sa.Float(), nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=True),
    sa.Column("hash", sa.String(64), nullable=True),
    sa.Column("session", sa.String(64), nullable=True),
    sa.Column("protocol_version", sa.String(32), nullable=True),
    sa.Column("remote", sa.String(255), nullable=True),
    sa.Column("via", sa.String(16), nullable=True),
    sa.Column("arguments", _JSON, nullable=True),
    sa.Column("detail", sa.Text(), nullable=True),
    sqlite_autoincrement=True,
)
sa.Index("ix_audit_log_principal", audit_log.c.principal)
sa.Index("ix_audit_log_decision", audit_log.c.decision)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, index=True),
    sa.Column("profile", sa.String(255), nullable=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("last_used_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("secret_hash", name="uq_api_keys_secret_hash"),
)

pins = sa.Table(
    "pins",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("server", sa.String(255), nullable=False),
    sa.Column("tool", sa.Text(), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("definition", _JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("pending_hash", sa.String(64), nullable=True),
    sa.Column("pending_definition", _JSON, nullable=True),
    sa.Column("findings", _JSON, nullable=False),
    sa.Column("first_seen", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("approved_by", sa.String(255), nullable=True),
    sa.UniqueConstraint("server", "tool", name="uq_pins_server_tool"),
)

# One counter per kind of state the gateway caches in memory (API keys, pins): bumped in the same transaction
# as every change, so that a replica notices a change with one cheap read.
state_versions = sa.Table(
    "state_versions",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger(), nullable=False),
)
