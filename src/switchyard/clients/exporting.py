"""`switchyard export`: Switchyard's servers written as a client's config file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from switchyard.clients.base import ClientFormat, Entry, Place, Unsupported


@dataclass
class Exported:
    data: bytes
    left_out: list[str]  # "name: why"


def export(client: ClientFormat, servers: Mapping[str, Entry], place: Place) -> Exported:
    """The enabled servers in the client's file format (the shape of its `export_scope` file)."""
    location = next(loc for loc in client.locations(place) if loc.scope == client.export_scope)
    kept: dict[str, Entry] = {}
    left_out = []
    for name, entry in servers.items():
        if entry.get("disabled"):
            left_out.append(f"{name}: disabled")
            continue
        try:
            client.render(None, location, set(), {name: entry})
        except Unsupported as exc:
            left_out.append(f"{name}: {exc}")
            continue
        kept[name] = entry
    return Exported(client.render(None, location, set(), kept), left_out)
