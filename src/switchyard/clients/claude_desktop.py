"""Claude Desktop: `claude_desktop_config.json`, `mcpServers` of local (stdio) servers only."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchyard.clients.base import USER, Entry, Location, Notes, Place, Unsupported
from switchyard.clients.json_format import JsonFormat, copy_known, only

FILE = "claude_desktop_config.json"


class ClaudeDesktop(JsonFormat):
    name = "claude-desktop"
    title = "Claude Desktop"
    remote = False  # remote servers are added as connectors in the app, not in this file

    def locations(self, place: Place) -> list[Location]:
        return [Location(place.app_data() / "Claude" / FILE, USER)]

    def recognises(self, path: Path) -> bool:
        return path.name == FILE

    def to_entry(self, name: str, raw: Mapping[str, Any], location: Location, place: Place, notes: Notes) -> Entry:
        if "command" not in raw:
            raise Unsupported("no 'command'")
        return copy_known(name, raw, ("command", "args", "env"), notes)

    def from_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        if entry.get("url"):
            raise Unsupported("Claude Desktop's config file takes local (stdio) servers only")
        return only(entry, ("command", "args", "env"), self.title)
