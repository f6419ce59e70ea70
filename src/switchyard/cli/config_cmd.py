"""`switchyard config check`: validate a config file, then start its backends once and report on each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from switchyard.cli.loading import (
    JSON_OPTION,
    TIMEOUT_OPTION,
    error,
    one_shot_gateway,
    print_json,
    print_table,
    read_config,
    run,
    say,
    startup_problems,
)
from switchyard.config import Config, default_config_path

app = typer.Typer(help="Check the configuration.", no_args_is_help=True)

FILE_ARGUMENT = typer.Argument(None, help="Config file (default: the one `switchyard serve` would read).")


@app.command("check")
def check(
    file: Path | None = FILE_ARGUMENT,
    probe: bool = typer.Option(True, "--probe/--no-probe", help="Start the enabled backends and report on each."),
    timeout: float = TIMEOUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Validate the config file; then start each enabled backend once and report what it offers.

    Exits 2 when the file is invalid, 1 when a backend does not start or, with `gateway.naming: none`,
    when two servers offer the same name.
    """
    path = file or default_config_path()
    config = read_config(path)
    enabled = len(config.enabled_servers())
    if not probe:
        if as_json:
            print_json({"file": str(path), "ok": True, "servers": len(config.servers), "enabled": enabled})
        else:
            say(f"OK: {path} is valid ({len(config.servers)} servers, {enabled} enabled; not started)")
        return
    report = run(_probe, config, timeout)
    if as_json:
        print_json({"file": str(path), "ok": not report["problems"], **report})
    else:
        _print_report(path, report)
    if report["problems"]:
        for problem in report["problems"]:
            error(problem)
        raise typer.Exit(1)


async def _probe(config: Config, startup_timeout: float) -> dict[str, Any]:
    async with one_shot_gateway(config, startup_timeout=startup_timeout) as gateway:
        statuses = {name: backend.status() for name, backend in gateway.backends.items()}
        servers = [
            statuses.get(name) or {"name": name, "state": "disabled", "transport": server.type}
            for name, server in config.servers.items()
        ]
        problems = [f"server '{name}' did not start: {why}" for name, why in startup_problems(gateway).items()]
        tool_names = {t.get("name") for b in gateway.backends.values() for t in b.listing.tools}
        collisions = [
            {"name": c.name, "kind": "tool" if c.name in tool_names else "prompt", "servers": list(c.servers)}
            for c in gateway.catalogue.collisions
        ]
    naming = config.gateway.naming
    if naming == "none" and collisions:
        offered = ", ".join(f"{c['kind']} '{c['name']}' by {' and '.join(c['servers'])}" for c in collisions)
        problems.append(
            f"gateway.naming is 'none' but several servers offer the same name ({offered}): only the first "
            "server's is reachable; set gateway.naming to 'auto' or 'prefix'"
        )
    return {"naming": naming, "servers": servers, "collisions": collisions, "problems": problems}


def _print_report(path: Path, report: dict[str, Any]) -> None:
    servers = report["servers"]
    say(f"{path}: valid")
    columns = ("server", "state", "transport", "protocol", "tools", "prompts", "resources", "last error")
    rows = [
        (
            s["name"],
            s["state"],
            s["transport"],
            s.get("protocolVersion"),
            s.get("tools"),
            s.get("prompts"),
            None if "resources" not in s else s["resources"] + s["resourceTemplates"],
            s.get("lastError"),
        )
        for s in servers
    ]
    if rows:
        print_table(columns, rows)
    if report["naming"] == "auto":
        for c in report["collisions"]:
            owners = ", ".join(c["servers"])
            say(f"note: {c['kind']} '{c['name']}' is offered by {owners}: each gets a prefixed name")
    if not report["problems"]:
        up = sum(s["state"] == "up" for s in servers)
        tools = sum(s.get("tools") or 0 for s in servers)
        say(f"OK: {up} server(s) up, {tools} tools")
