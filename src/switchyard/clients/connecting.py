"""`switchyard connect`: the client's servers replaced by one entry that reaches the gateway."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from switchyard.clients.backups import Change
from switchyard.clients.base import GATEWAY_NAME, ClientFormat, Entry, Location, Place, Scope
from switchyard.clients.importing import Source, identity


class ConnectError(ValueError):
    pass


def switchyard_command() -> list[str]:
    """How to run this very `switchyard`: its executable's absolute path, else this Python with `-m switchyard`."""
    launched = Path(sys.argv[0])
    if launched.name.startswith("switchyard") and launched.is_file():
        return [str(launched.absolute())]
    found = shutil.which("switchyard")
    if found and Path(found).parent == Path(sys.executable).parent:  # this environment's, not another install
        return [str(Path(found).absolute())]
    return [sys.executable, "-m", "switchyard"]


def gateway_entry(config: Path, http_url: str | None = None) -> Entry:
    if http_url:
        return {"url": http_url}
    command, *prefix = switchyard_command()
    return {"command": command, "args": [*prefix, "serve", "--stdio", "--config", str(config.absolute())]}


def not_imported(sources: Iterable[Source], known: Iterable[Mapping[str, object]]) -> list[str]:
    """The client's servers (other than the gateway) that Switchyard's config does not have."""
    have = {identity(entry) for entry in known}
    return [
        name
        for source in sources
        for name, entry in source.servers.items()
        if name != GATEWAY_NAME and identity(entry) not in have
    ]


def plan_connect(
    client: ClientFormat, place: Place, sources: list[Source], entry: Entry, scope: Scope | None = None
) -> list[Change]:
    """The file changes: each source loses its servers, and the `scope` location gets the gateway's entry."""
    if entry.get("url") and not client.remote:
        raise ConnectError(f"{client.title} takes local (stdio) servers only in its config file; leave out --http")
    locations = client.locations(place)
    wanted = scope or client.gateway_scope
    target = next((location for location in locations if location.scope == wanted), None)
    if target is None:
        scopes = ", ".join(dict.fromkeys(location.scope for location in locations))
        raise ConnectError(f"{client.title} has no {wanted!r} scope (it has: {scopes})")
    edits: dict[Path, list[tuple[Location, set[str], dict[str, Entry]]]] = {}
    for source in sources:
        removed = set(source.servers) - {GATEWAY_NAME}
        if removed:
            edits.setdefault(source.location.path, []).append((source.location, removed, {}))
    edits.setdefault(target.path, []).append((target, {GATEWAY_NAME}, {GATEWAY_NAME: entry}))
    changes = []
    for path, steps in edits.items():
        before = _read(path)
        after = before
        for location, remove, add in steps:
            after = client.render(after, location, remove, add)
        if after is not None and after != before:
            changes.append(Change(path, before, after))
    return changes


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConnectError(f"{path}: cannot read: {os.strerror(exc.errno or 0)}") from None
