"""`switchyard pins`: the tool definitions the gateway pinned, changes held back for approval, and approving them.

Everything shown passes through `escape`: a backend's tool text may carry terminal escapes or invisible
characters, and none of them reaches the terminal raw.
"""

from __future__ import annotations

import difflib
import getpass
import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from switchyard.admin.service import Actor, AdminError, AdminService, store_sink
from switchyard.cli.loading import (
    CONFIG_OPTION,
    JSON_OPTION,
    REGISTRY_OPTION,
    fail,
    local_time,
    opened_store,
    print_table,
    read_config,
    run,
    say,
)
from switchyard.config import Config
from switchyard.registry import Pin
from switchyard.security.pinning import pin_diff
from switchyard.security.printable import escape

app = typer.Typer(help="Pinned tool definitions: list, diff and approve held-back changes.", no_args_is_help=True)

TOOL_ARGUMENT = typer.Argument(..., metavar="SERVER:TOOL", help="The server's name and the backend's own tool name.")


@app.command("list")
def list_pins(
    pending: bool = typer.Option(False, "--pending", help="Only tools held back (pending or quarantined)."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Every pinned tool: its status, hashes and the poisoning scan's findings."""
    pins = run(_load, read_config(config), registry)
    shown = [pin for pin in pins.values() if not pending or pin.status != "approved"]
    if as_json:
        # ASCII-only JSON: exact, and every control or invisible character arrives as a \u escape.
        typer.echo(json.dumps([asdict(pin) for pin in shown], indent=2, ensure_ascii=True, default=_iso))
    elif not shown:
        say("no tools held back" if pending else "no pinned tools")
    else:
        print_table(
            ("server", "tool", "status", "hash", "pending", "findings", "updated"),
            (
                (
                    escape(pin.server),
                    escape(pin.tool),
                    pin.status,
                    pin.hash[:12],
                    pin.pending_hash[:12] if pin.pending_hash else None,
                    ", ".join(dict.fromkeys(str(f.get("rule")) for f in pin.findings)) or None,
                    local_time(pin.updated_at) if pin.updated_at else None,
                )
                for pin in shown
            ),
        )


@app.command("diff")
def diff(
    target: str = TOOL_ARGUMENT,
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
) -> None:
    """The approved definition against the one held back (a unified diff of pretty JSON), and the findings."""
    pin = _find(run(_load, read_config(config), registry), target)
    lines = pin_diff(pin)
    if not lines:
        say(f"{escape(target)} is approved and unchanged (hash {pin.hash})")
        return
    for line in lines:
        typer.echo(line)
    for finding in pin.findings:
        typer.echo(
            f"finding {escape(str(finding.get('rule')))} in {escape(str(finding.get('field')))} at offset "
            f"{finding.get('offset')}: {escape(str(finding.get('excerpt')))}"
        )


@app.command("approve")
def approve(
    target: str = TOOL_ARGUMENT,
    actor: str | None = typer.Option(None, "--actor", help="Who approves, for the audit log (default: cli:USER)."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
) -> None:
    """Accept a held-back definition: running gateways serve it within about a second. The approval is audited."""
    pin = run(_approve, read_config(config), registry, target, actor or f"cli:{getpass.getuser()}")
    say(f"approved {escape(target)} (hash {pin.hash})")


@app.command("forget")
def forget(
    target: str = typer.Argument(..., metavar="SERVER[:TOOL]", help="A server, or one of its tools."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
) -> None:
    """Drop pins, so that the tools are pinned (and scanned) afresh the next time they are listed."""
    server, _, tool = target.partition(":")
    removed = run(_forget, read_config(config), registry, server, tool or None)
    if not removed:
        fail(f"no pins for {escape(target)} (`switchyard pins list` shows them)")
    say(f"forgot {removed} pin(s) of {escape(target)}")


async def _load(settings: Config, registry: str | None) -> dict[tuple[str, str], Pin]:
    async with opened_store(settings, registry) as store:
        return await store.load_pins()


async def _approve(settings: Config, registry: str | None, target: str, actor: str) -> Pin:
    server, tool = _split(target)
    async with opened_store(settings, registry) as store:
        try:
            await AdminService(settings, store, store_sink(store)).approve_pin(Actor(actor, "cli"), server, tool)
        except AdminError as exc:
            _find(await store.load_pins(), target)  # an unknown pin: fails, naming close matches
            fail(f"cannot approve {escape(target)}: {exc.message}")
        return (await store.load_pins())[(server, tool)]


async def _forget(settings: Config, registry: str | None, server: str, tool: str | None) -> int:
    async with opened_store(settings, registry) as store:
        return await store.remove_pins(server, tool)


def _split(target: str) -> tuple[str, str]:
    server, separator, tool = target.partition(":")
    if not separator or not server or not tool:
        fail(f"expected SERVER:TOOL (the backend's own tool name), got {escape(target)!r}")
    return server, tool


def _find(pins: dict[tuple[str, str], Pin], target: str) -> Pin:
    key = _split(target)
    pin = pins.get(key)
    if pin is None:
        close = difflib.get_close_matches(target, [f"{s}:{t}" for s, t in pins], n=3)
        hint = f"; did you mean {', '.join(escape(c) for c in close)}?" if close else " (`switchyard pins list`)"
        fail(f"no pin for {escape(target)}{hint}")
    return pin


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
