"""Cursor: `~/.cursor/mcp.json` and the project's `.cursor/mcp.json`, `mcpServers`; values may hold `${env:NAME}`,
`${userHome}` and `${workspaceFolder}`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchyard.clients.base import PROJECT, USER, Entry, Location, Notes, Place, Unsupported
from switchyard.clients.json_format import JsonFormat, copy_known, only
from switchyard.clients.variables import from_editor, to_editor


class Cursor(JsonFormat):
    name = "cursor"
    title = "Cursor"

    def locations(self, place: Place) -> list[Location]:
        return [
            Location(place.home / ".cursor" / "mcp.json", USER),
            Location(place.cwd / ".cursor" / "mcp.json", PROJECT),
        ]

    def recognises(self, path: Path) -> bool:
        return path.name == "mcp.json" and path.parent.name == ".cursor"

    def to_entry(self, name: str, raw: Mapping[str, Any], location: Location, place: Place, notes: Notes) -> Entry:
        entry = copy_known(name, raw, ("type", "command", "args", "env", "envFile", "url", "headers"), notes)
        if entry.get("type") != "sse":  # otherwise the transport follows from command or url
            entry.pop("type", None)
        if "command" not in entry and "url" not in entry:
            raise Unsupported("neither 'command' nor 'url'")
        workspace = location.path.parent.parent if location.scope == PROJECT else None
        return from_editor(entry, notes, home=place.home, workspace=workspace)

    def from_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        if entry.get("url"):
            return to_editor(only(entry, ("url", "headers"), self.title))
        return to_editor(only(entry, ("command", "args", "env", "envFile"), self.title))
