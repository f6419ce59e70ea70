"""`switchyard import`: reading clients' servers and merging them into Switchyard's config without duplicates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from switchyard.clients.base import GATEWAY_NAME, ClientFormat, Entry, Location, Notes, Place, scrub_name
from switchyard.clients.codex import CodexFileError
from switchyard.clients.formats import FORMATS
from switchyard.clients.json_format import JsonFileError
from switchyard.clients.switchyard_file import SwitchyardFile

OnClash = Literal["rename", "skip", "replace"]
_SECRET_KEY = re.compile(r"token|secret|passw|api[-_]?key|apikey|auth|credential|private[-_]?key|(^|[-_])key$", re.I)


class ClientFileError(ValueError):
    pass


@dataclass
class Source:
    """The servers read from one client file (one part of it, for Claude Code's `~/.claude.json`)."""

    client: ClientFormat
    location: Location
    servers: dict[str, Entry]
    notes: Notes

    def describe(self) -> str:
        return f"{self.client.title} ({self.location.scope}) {self.location.path}"


def read_location(client: ClientFormat, location: Location, place: Place) -> Source | None:
    """The servers at `location`, or None when its file does not exist."""
    try:
        data = location.path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ClientFileError(f"{location.path}: cannot read: {exc.strerror}") from None
    notes = Notes()
    try:
        servers = client.read(data, location, place, notes)
    except (JsonFileError, CodexFileError, UnicodeDecodeError) as exc:
        raise ClientFileError(f"{location.path}: {exc}") from None
    return Source(client, location, {name: _anchored(entry, place.cwd) for name, entry in servers.items()}, notes)


def _anchored(entry: Entry, project: Path) -> Entry:
    """Relative `cwd` and `envFile` made absolute: clients resolve them from the project they run in, Switchyard
    from its config's folder."""
    out = dict(entry)
    for key in ("cwd", "envFile"):
        value = out.get(key)
        if isinstance(value, str) and not value.startswith(("$", "~")) and not Path(value).is_absolute():
            out[key] = str(project / value)
    return out


def read_client(client: ClientFormat, place: Place) -> list[Source]:
    """Every existing file of the client's."""
    return [source for location in client.locations(place) if (source := read_location(client, location, place))]


def read_all(place: Place) -> list[Source]:
    return [source for client in FORMATS.values() for source in read_client(client, place)]


def read_path(client: ClientFormat, path: Path, place: Place) -> list[Source]:
    """The servers in a file named on the command line, read as the client's file at that place would be
    (all its parts); a file elsewhere is read as the client's most general location."""
    path = path.absolute()
    matching = [location for location in client.locations(place) if location.path == path]
    locations = matching or [Location(path, loc.scope, loc.section) for loc in client.locations(place)[:1]]
    sources = [read_location(client, location, place) for location in locations]
    if not any(sources):
        raise ClientFileError(f"{path}: no such file")
    return [source for source in sources if source]


# -- merging


def identity(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """What makes two entries the same server: the command and its arguments, or the URL."""
    if entry.get("url"):
        return ("url", str(entry["url"]))
    return ("command", str(entry.get("command")), *map(str, entry.get("args") or []))


@dataclass
class Imported:
    name: str
    entry: Entry
    source: Source
    renamed_from: str | None = None
    replaces: bool = False


@dataclass
class Plan:
    added: list[Imported] = field(default_factory=list)
    present: list[tuple[Imported, str]] = field(default_factory=list)  # and the name it has in Switchyard
    clashes: list[tuple[Imported, str]] = field(default_factory=list)  # unresolved; the name it clashes with
    skipped: list[Imported] = field(default_factory=list)  # clashing, skipped as asked
    variables: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def plan_import(sources: Iterable[Source], existing: Mapping[str, Entry], on_clash: OnClash | None) -> Plan:
    plan = Plan()
    by_identity = {identity(entry): name for name, entry in existing.items()}
    names = {scrub_name(name): name for name in existing}  # same namespace = same name to the gateway
    for source in sources:
        plan.variables.update(source.notes.variables)
        plan.dropped += [f"{source.location.path}: {note}" for note in source.notes.dropped]
        for name, entry in source.servers.items():
            if name == GATEWAY_NAME:  # the gateway's own entry in a connected client
                continue
            item = Imported(name, entry, source)
            key = identity(entry)
            if key in by_identity:
                plan.present.append((item, by_identity[key]))
                continue
            holder = names.get(scrub_name(name))
            if holder is not None:
                if on_clash is None:
                    plan.clashes.append((item, holder))
                    continue
                if on_clash == "skip":
                    plan.skipped.append(item)
                    continue
                if on_clash == "rename":
                    item.renamed_from, item.name = name, _free_name(f"{name}-{source.client.name}", names)
                else:
                    item.name, item.replaces = holder, True
                    by_identity = {k: v for k, v in by_identity.items() if v != holder}
                    plan.added = [added for added in plan.added if added.name != holder]
            plan.added.append(item)
            by_identity[key] = item.name
            names[scrub_name(item.name)] = item.name
            plan.secrets += _literal_secrets(item)
    return plan


def apply_plan(plan: Plan, target: SwitchyardFile) -> None:
    for item in plan.added:
        target.put(item.name, item.entry)


def _free_name(wanted: str, taken: Mapping[str, str]) -> str:
    candidate, number = wanted, 2
    while scrub_name(candidate) in taken:
        candidate, number = f"{wanted}-{number}", number + 1
    return candidate


def _literal_secrets(item: Imported) -> list[str]:
    found = []
    for section in ("env", "headers"):
        for key, value in (item.entry.get(section) or {}).items():
            if isinstance(value, str) and value and "${" not in value and _SECRET_KEY.search(key):
                found.append(f"{item.name}: {section} {key!r} is a literal value; if it is a secret, use ${{NAME}}")
    return found
