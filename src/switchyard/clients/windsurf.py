"""Windsurf: `~/.codeium/windsurf/mcp_config.json`, `mcpServers`; a remote server's address is `serverUrl`, values
may hold `${env:NAME}`, and `disabled` switches a server off."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchyard.clients.base import USER, Entry, Location, Notes, Place, Unsupported
from switchyard.clients.json_format import JsonFormat, copy_known, only
from switchyard.clients.variables import from_editor, to_editor


class Windsurf(JsonFormat):
    name = "windsurf"
    title = "Windsurf"

    def locations(self, place: Place) -> list[Location]:
        return [Location(place.home / ".codeium" / "windsurf" / "mcp_config.json", USER)]

    def recognises(self, path: Path) -> bool:
        return path.name == "mcp_config.json"

    def to_entry(self, name: str, raw: Mapping[str, Any], location: Location, place: Place, notes: Notes) -> Entry:
        raw = dict(raw)
        if "serverUrl" in raw:
            raw["url"] = raw.pop("serverUrl")
        entry = copy_known(name, raw, ("command", "args", "env", "url", "headers", "disabled"), notes)
        if not entry.get("disabled"):
            entry.pop("disabled", None)
        if "command" not in entry and "url" not in entry:
            raise Unsupported("neither 'command' nor 'serverUrl'")
        return from_editor(entry, notes, home=place.home, workspace=None)

    def from_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        if entry.get("url"):
            remote = to_editor(only(entry, ("url", "headers"), self.title))
            return {"serverUrl": remote.pop("url"), **remote}
        return to_editor(only(entry, ("command", "args", "env"), self.title))
