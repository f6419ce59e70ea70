"""`switchyard doctor`: check this machine and config for what would stop the gateway, with the fixes."""

from __future__ import annotations

from pathlib import Path

import typer

from switchyard.cli.loading import (
    CONFIG_OPTION,
    JSON_OPTION,
    REGISTRY_OPTION,
    TIMEOUT_OPTION,
    print_json,
    print_table,
    run,
    say,
)
from switchyard.config import default_config_path

NO_VERIFY_OPTION = typer.Option(
    False, "--no-verify", help="Skip starting the servers (directly and through the gateway)."
)


def doctor(
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
    json_output: bool = JSON_OPTION,
    no_verify: bool = NO_VERIFY_OPTION,
    timeout: float = TIMEOUT_OPTION,
) -> None:
    """Check the config, commands, variables, URLs, port, registry and versions; then verify every server."""
    from switchyard.adoption.doctor import diagnose, passed

    path = config or default_config_path()
    checks = run(lambda: diagnose(path, registry=registry, run_verify=not no_verify, timeout=timeout))
    if json_output:
        print_json({"passed": passed(checks), "checks": [check.as_json() for check in checks]})
    else:
        print_table(["check", "status", "detail"], [[c.check, c.status, c.detail] for c in checks])
        problems = [c for c in checks if c.status != "OK" and c.fix]
        if problems:
            say("")
            say("to fix:")
            for check in problems:
                say(f"  {check.check}: {check.fix}")
    if not passed(checks):
        raise typer.Exit(1)
