"""`switchyard import`, `connect`, `restore` and `export`: moving a client's servers behind the gateway and back."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer
from platformdirs import user_config_path

from switchyard.cli.loading import CONFIG_OPTION, REGISTRY_OPTION, fail, print_table, run, say, warn
from switchyard.clients.backups import BackupError, list_backups, restore, write_with_backup
from switchyard.clients.base import ClientFormat, Entry, Place
from switchyard.clients.connecting import ConnectError, gateway_entry, not_imported, plan_connect
from switchyard.clients.exporting import export
from switchyard.clients.formats import FORMATS, format_named, format_of
from switchyard.clients.importing import (
    ClientFileError,
    OnClash,
    Plan,
    Source,
    apply_plan,
    plan_import,
    read_all,
    read_client,
    read_path,
)
from switchyard.clients.switchyard_file import SwitchyardFile, SwitchyardFileError, servers_in
from switchyard.config import default_config_path, sample_config_path

CLIENTS = ", ".join(FORMATS)
TARGET_OPTION = typer.Option(
    None,
    "--config",
    "-c",
    help="Switchyard config to write (default: $SWITCHYARD_CONFIG, ./switchyard.yaml, else the user config's).",
)
OUTPUT_OPTION = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")
ON_CLASH_OPTION = typer.Option(
    None,
    "--on-clash",
    help="A server whose name is taken by a different one: rename (adds -<client>), skip, or replace it.",
)


def _place() -> Place:
    return Place(Path.home(), Path.cwd(), sys.platform, dict(os.environ))


def _client(name: str) -> ClientFormat:
    client = format_named(name)
    if client is None:
        fail(f"unknown client {name!r} (known: {CLIENTS})", 2)
    return client


def _target(path: Path | None) -> Path:
    """The config to write: the one given, else the one Switchyard reads, never the bundled sample."""
    chosen = path or default_config_path()
    if chosen == sample_config_path():
        chosen = user_config_path("switchyard", appauthor=False) / "switchyard.yaml"
    return chosen.absolute()


def _open_target(path: Path) -> SwitchyardFile:
    try:
        return SwitchyardFile(path)
    except SwitchyardFileError as exc:
        fail(str(exc), 2)


def _sources(what: str | None, place: Place) -> list[Source]:
    try:
        if what is None:
            return read_all(place)
        client = format_named(what)
        if client is not None:
            return read_client(client, place)
        path = Path(what).expanduser()
        client = format_of(path)
        if client is None:
            fail(f"{what!r} is neither a client ({CLIENTS}) nor a file of one", 2)
        return read_path(client, path, place)
    except ClientFileError as exc:
        fail(str(exc))


def _looked_in(clients: list[ClientFormat], place: Place) -> str:
    return ", ".join(dict.fromkeys(str(loc.path) for client in clients for loc in client.locations(place)))


def import_(
    source: str | None = typer.Argument(
        None, metavar="CLIENT|PATH", help=f"A client ({CLIENTS}) or a client's config file; default: all."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the change to the config as a diff; write nothing."),
    config: Path | None = TARGET_OPTION,
    on_clash: OnClash | None = ON_CLASH_OPTION,
) -> None:
    """Add the MCP servers configured in your clients to Switchyard's config."""
    place = _place()
    sources = _sources(source, place)
    if not any(s.servers for s in sources):
        named = [c for c in [format_named(source or "")] if c] or list(FORMATS.values())
        where = ", ".join(str(s.location.path) for s in sources) if sources else _looked_in(named, place)
        fail(f"no MCP servers found (looked in: {where})")
    target = _open_target(_target(config))
    plan = _import(sources, target, on_clash, dry_run)
    if dry_run:
        diff = target.diff()
        say(diff.rstrip("\n") if diff else f"(no change to {target.path})")
        return
    if plan.added:
        target.write()
        say(f"wrote {target.path}")


def _import(sources: list[Source], target: SwitchyardFile, on_clash: OnClash | None, dry_run: bool) -> Plan:
    """Plan the import, say what it does, and apply it to `target` in memory."""
    for source in sources:
        say(f"read {source.describe()}: {len(source.servers)} server(s)")
    plan = plan_import(sources, target.servers(), on_clash)
    if plan.clashes:
        lines = [
            f"  {item.name} (from {item.source.describe()}) vs {holder} in {target.path}"
            for item, holder in plan.clashes
        ]
        fail(
            f"these servers have the name of a different server already in {target.path}:\n"
            + "\n".join(lines)
            + "\nchoose with --on-clash: rename (the new one becomes <name>-<client>), skip (keep the existing one),"
            " or replace (the existing one is overwritten)"
        )
    verb = "would add" if dry_run else "added"
    for item in plan.added:
        how = (
            f" (renamed from {item.renamed_from})"
            if item.renamed_from
            else " (replacing the existing one)"
            if item.replaces
            else ""
        )
        say(f"{verb} {item.name}{how}")
    for item, holder in plan.present:
        say(f"already present: {item.name} from {item.source.location.path} (as {holder})")
    for item in plan.skipped:
        say(f"skipped: {item.name} (the name is taken and --on-clash skip)")
    if plan.variables:
        say("variables to set in the environment Switchyard runs in:")
        for variable, origin in plan.variables.items():
            say(f"  {variable}  ({origin})")
    for secret in plan.secrets:
        warn(secret)
    for note in plan.dropped:
        warn(f"not carried over: {note}")
    apply_plan(plan, target)
    if target.created:
        say(f"new config {target.path} with gateway.naming: auto (the clients keep their tool names)")
    elif plan.added and target.naming == "prefix":
        say(
            f"suggestion: set gateway.naming: auto in {target.path} so that clients keep the tool names they "
            "already use (prefix puts '<server>__' before every name)"
        )
    return plan


def connect(
    client_name: str = typer.Argument(..., metavar="CLIENT", help=f"One of: {CLIENTS}."),
    http: str | None = typer.Option(None, "--http", help="Reach a running gateway at this URL instead of stdio."),
    scope: str | None = typer.Option(None, "--scope", help="Where the gateway's entry goes: user, project or local."),
    import_first: bool = typer.Option(False, "--import", help="Import the client's servers first if needed."),
    config: Path | None = TARGET_OPTION,
    on_clash: OnClash | None = ON_CLASH_OPTION,
) -> None:
    """Point a client at the gateway: its servers give way to one `switchyard` entry (after a backup)."""
    client = _client(client_name)
    place = _place()
    try:
        sources = read_client(client, place)
    except ClientFileError as exc:
        fail(str(exc))
    target_path = _target(config)
    target = _open_target(target_path)
    missing = not_imported(sources, target.servers().values())
    if missing and not import_first:
        fail(
            f"{client.title}'s servers {', '.join(missing)} are not in {target_path} yet: "
            f"run `switchyard import {client.name}` first (or pass --import)"
        )
    if missing:
        _import(sources, target, on_clash, dry_run=False)
        target.write()
        say(f"wrote {target.path}")
    try:
        changes = plan_connect(client, place, sources, gateway_entry(target_path, http), scope)
    except ConnectError as exc:
        fail(str(exc), 2)
    if not changes:
        say(f"{client.title} already reaches the gateway; nothing to change")
        return
    backup = write_with_backup(client.name, changes)
    for change in changes:
        say(f"{'rewrote' if change.before is not None else 'created'} {change.path}")
    say(f"backup: {backup.folder}")
    say(f"{client.title} now reaches Switchyard; undo with: switchyard restore {client.name}")


def restore_(
    client_name: str = typer.Argument(..., metavar="CLIENT", help=f"One of: {CLIENTS}."),
    at: str | None = typer.Option(None, "--at", help="The backup to restore (its timestamp; default the newest)."),
    list_only: bool = typer.Option(False, "--list", help="List the client's backups."),
) -> None:
    """Put a client's config files back exactly as they were before `connect`."""
    client = _client(client_name)
    backups = list_backups(client.name)
    if list_only:
        print_table(["TIMESTAMP", "FILES"], [[b.stamp, ", ".join(b.files)] for b in reversed(backups)])
        return
    if not backups:
        fail(f"no backups of {client.title} (`switchyard connect {client.name}` makes one)")
    chosen = backups[-1]
    if at is not None:
        matching = [b for b in backups if b.stamp == at] or [b for b in backups if b.stamp.startswith(at)]
        if len(matching) != 1:
            known = ", ".join(b.stamp for b in backups)
            fail(f"{'no' if not matching else 'more than one'} backup of {client.title} at {at!r} (known: {known})")
        chosen = matching[0]
    try:
        for line in restore(chosen):
            say(line)
    except (BackupError, OSError) as exc:
        fail(f"restore from {chosen.folder} stopped: {exc}")
    say(f"{client.title} is back to its config of {chosen.stamp}")


def export_(
    client_name: str = typer.Argument(..., metavar="CLIENT", help=f"One of: {CLIENTS}."),
    output: Path | None = OUTPUT_OPTION,
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
) -> None:
    """Write Switchyard's servers (config file and registry) in a client's config format."""
    client = _client(client_name)
    path = config or default_config_path()
    if not path.is_file():
        fail(f"{path}: config file not found", 2)
    try:
        servers = servers_in(path)
    except SwitchyardFileError as exc:
        fail(str(exc), 2)
    servers = run(_with_registry, servers, registry)
    exported = export(client, servers, _place())
    for note in exported.left_out:
        warn(f"left out {note}")
    if output is None:
        sys.stdout.buffer.write(exported.data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(exported.data)
        say(f"wrote {output}")


async def _with_registry(servers: dict[str, Entry], registry: str | None) -> dict[str, Entry]:
    """The servers added with `servers add`, and the enable/disable overrides, as `serve` would merge them."""
    from switchyard.registry import Store

    try:
        store = await Store.open(registry)
    except Exception as exc:
        fail(f"cannot open the registry {registry or '(default)'}: {exc}")
    try:
        stored = await store.list_servers()
    finally:
        await store.close()
    merged: dict[str, Any] = dict(servers)
    for server in stored:
        if server.definition is not None:
            merged[server.name] = dict(server.definition)
        if server.enabled is not None and server.name in merged:
            merged[server.name] = {**merged[server.name], "disabled": not server.enabled}
    return merged
