"""`switchyard verify`: does every server work the same through the gateway as on its own?"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from switchyard.cli.loading import (
    CONFIG_OPTION,
    JSON_OPTION,
    REGISTRY_OPTION,
    TIMEOUT_OPTION,
    merged_config,
    opened_store,
    print_json,
    print_table,
    read_config,
    run,
    say,
    unknown_server,
)
from switchyard.config import Config

SERVER_OPTION = typer.Option([], "--server", "-s", help="Verify only this server (repeatable).")


def verify(
    config: Path | None = CONFIG_OPTION,
    server: list[str] = SERVER_OPTION,
    registry: str | None = REGISTRY_OPTION,
    json_output: bool = JSON_OPTION,
    timeout: float = TIMEOUT_OPTION,
    strict_names: bool = typer.Option(False, "--strict-names", help="Fail when a tool or prompt name changes."),
) -> None:
    """Start each server directly and through the gateway, and compare what each exposes."""
    settings = read_config(config)
    report = run(_verify, settings, registry, server, timeout)
    if json_output:
        print_json(report_json(report, strict_names=strict_names))
    else:
        print_report(report)
    if not report.passed(strict_names=strict_names):
        raise typer.Exit(1)


async def _verify(settings: Config, registry: str | None, only: list[str], timeout: float) -> Any:
    from switchyard.adoption.verify import verify as verify_servers

    async with opened_store(settings, registry) as store:
        merged = await merged_config(settings, store)
    for name in only:
        if name not in merged.servers:
            unknown_server(name, merged.servers)
    assert settings.source is not None  # read_config always names the file
    return await verify_servers(merged, config_file=settings.source, registry=registry, only=only, timeout=timeout)


def _count(report: Any, kind: str) -> str:
    direct, through = report.counts.get(kind, (0, 0))
    text = str(direct) if direct == through else f"{direct} -> {through}"
    if kind == "resources" and report.counts.get("templates", (0, 0))[0]:
        text += f" + {report.counts['templates'][0]} templates"
    hidden = sum(item.startswith(kind.rstrip("s") + " ") for item in report.hidden_by_policy)
    return text + (f" (+{hidden} hidden by policy)" if hidden else "")


def print_report(report: Any) -> None:
    """The table, then every hidden item and name change (the lines a user acts on)."""
    rows = []
    for server in report.servers:
        counted = server.verdict in ("identical", "differs")
        rows.append(
            [
                server.name,
                _count(server, "tools") if counted else None,
                _count(server, "prompts") if counted else None,
                _count(server, "resources") if counted else None,
                server.call.summary() if server.call else ("none eligible" if counted else None),
                server.detail(),
            ]
        )
    print_table(["server", "tools", "prompts", "resources", "call", "verdict"], rows)
    for server in report.servers:
        if server.hidden_by_policy:
            say(f"hidden by policy on {server.name}: {', '.join(server.hidden_by_policy)}")
    if report.name_changes:
        say(f"{len(report.name_changes)} name(s) change through the gateway (gateway.naming: {report.naming_mode}):")
        for change in report.name_changes:
            say(f"  {change.server}: {change.kind} {change.original} -> {change.public}")
        if advice := report.naming_advice():
            say(advice)
    else:
        say(f"no tool or prompt name changes through the gateway (gateway.naming: {report.naming_mode})")
        if advice := report.naming_advice():
            say(advice)


def report_json(report: Any, *, strict_names: bool) -> dict[str, Any]:
    return {
        "passed": report.passed(strict_names=strict_names),
        "naming": report.naming_mode,
        "servers": [
            {**asdict(server), "counts": {k: list(v) for k, v in server.counts.items()}} for server in report.servers
        ],
        "name_changes": [asdict(change) for change in report.name_changes],
        "naming_advice": report.naming_advice(),
    }
