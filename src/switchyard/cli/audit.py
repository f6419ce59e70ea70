"""`switchyard audit`: the registry's audit log, newest first."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Literal

import typer

from switchyard.cli.loading import (
    CONFIG_OPTION,
    JSON_OPTION,
    REGISTRY_OPTION,
    local_time,
    opened_store,
    print_json,
    print_table,
    read_config,
    run,
    say,
)
from switchyard.config import Config
from switchyard.registry import AuditRecord


def audit(
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many records (the newest)."),
    server: str | None = typer.Option(None, "--server", help="Only calls to this server."),
    tool: str | None = typer.Option(None, "--tool", help="Only calls of this tool (its public name)."),
    decision: Literal["allow", "deny", "error"] | None = typer.Option(None, "--decision", help="allow, deny or error."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show who called what through the gateway, and what the gateway decided."""
    records = run(_records, read_config(config), registry, limit, server, tool, decision)
    if as_json:
        print_json([asdict(record) for record in records])
    elif not records:
        say("no audit records")
    else:
        print_table(
            ("time", "principal", "transport", "method", "tool", "decision", "reason", "duration"),
            (
                (
                    local_time(r.ts),
                    r.principal,
                    r.transport,
                    r.method,
                    r.tool,
                    r.decision,
                    r.reason,
                    None if r.duration_ms is None else f"{r.duration_ms:.1f} ms",
                )
                for r in records
            ),
        )


async def _records(
    settings: Config,
    registry: str | None,
    limit: int,
    server: str | None,
    tool: str | None,
    decision: str | None,
) -> list[AuditRecord]:
    async with opened_store(settings, registry) as store:
        return await store.list_audit(limit=limit, server=server, tool=tool, decision=decision)
