"""`switchyard audit`: the registry's audit log, newest first; `--verify` checks its hash chain."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import typer

from switchyard.admin.models import AuditOut, AuditQuery, ChainOut
from switchyard.admin.service import AdminService, store_sink
from switchyard.cli.loading import (
    CONFIG_OPTION,
    JSON_OPTION,
    REGISTRY_OPTION,
    fail,
    local_time,
    opened_store,
    print_json,
    print_table,
    read_config,
    run,
    say,
)
from switchyard.config import Config

SINCE_OPTION = typer.Option(None, "--since", help="Only records at or after this time (ISO 8601).")


def audit(
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=1000, help="How many records (the newest)."),
    server: str | None = typer.Option(None, "--server", help="Only calls to this server."),
    tool: str | None = typer.Option(None, "--tool", help="Only calls of this tool (its public name)."),
    decision: Literal["allow", "deny", "reject", "error"] | None = typer.Option(
        None, "--decision", help="allow, deny, reject or error."
    ),
    principal: str | None = typer.Option(None, "--principal", help="Only requests by this principal."),
    since: datetime | None = SINCE_OPTION,
    verify: bool = typer.Option(False, "--verify", help="Check the hash chain of the whole log instead."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show who called what through the gateway, and what the gateway decided."""
    settings = read_config(config)
    if verify:
        _verify(run(_chain, settings, registry), as_json)
        return
    query = AuditQuery(limit=limit, server=server, tool=tool, decision=decision, principal=principal, since=since)
    records = run(_records, settings, registry, query)
    if as_json:
        print_json([record.model_dump(mode="json") for record in records])
    elif not records:
        say("no audit records")
    else:
        print_table(
            ("time", "principal", "transport", "method", "tool", "decision", "reason", "duration", "remote"),
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
                    r.remote,
                )
                for r in records
            ),
        )


def _verify(report: ChainOut, as_json: bool) -> None:
    if as_json:
        print_json(report.model_dump(mode="json"))
        if not report.intact:
            raise typer.Exit(1)
        return
    if report.intact:
        say(f"audit chain intact: {report.checked} records checked")
        return
    fail(
        f"audit chain broken at record {report.first_broken_id} ({report.checked} records before it are intact): "
        f"{report.problem}"
    )


async def _records(settings: Config, registry: str | None, query: AuditQuery) -> list[AuditOut]:
    async with opened_store(settings, registry) as store:
        return await AdminService(settings, store, store_sink(store)).query_audit(query)


async def _chain(settings: Config, registry: str | None) -> ChainOut:
    async with opened_store(settings, registry) as store:
        return await AdminService(settings, store, store_sink(store)).verify_audit()
