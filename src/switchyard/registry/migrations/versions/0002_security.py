"""Security: API keys, tool pins, state version counters, and the audit log's identity and context columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_AUDIT_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "session": sa.String(64),
    "protocol_version": sa.String(32),
    "remote": sa.String(255),
    "via": sa.String(16),
    "arguments": sa.JSON(),
    "detail": sa.Text(),
}


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        for name, type_ in _AUDIT_COLUMNS.items():
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_index("ix_audit_log_principal", "audit_log", ["principal"])
    op.create_index("ix_audit_log_decision", "audit_log", ["decision"])
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("profile", sa.String(255), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.UniqueConstraint("secret_hash", name="uq_api_keys_secret_hash"),
    )
    op.create_index("ix_api_keys_name", "api_keys", ["name"])
    op.create_table(
        "pins",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("server", sa.String(255), nullable=False),
        sa.Column("tool", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending_hash", sa.String(64), nullable=True),
        sa.Column("pending_definition", sa.JSON(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("first_seen", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("approved_by", sa.String(255), nullable=True),
        sa.UniqueConstraint("server", "tool", name="uq_pins_server_tool"),
    )
    op.create_table(
        "state_versions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("state_versions")
    op.drop_table("pins")
    op.drop_index("ix_api_keys_name", "api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_audit_log_decision", "audit_log")
    op.drop_index("ix_audit_log_principal", "audit_log")
    with op.batch_alter_table("audit_log") as batch:
        for name in reversed(_AUDIT_COLUMNS):
            batch.drop_column(name)
