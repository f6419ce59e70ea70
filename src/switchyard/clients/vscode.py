"""VS Code: `.vscode/mcp.json` in the workspace and the user profile's `mcp.json`, under `servers`, with `inputs`
(values prompted for and referenced as `${input:ID}`), `${env:NAME}`, `envFile` and an explicit `type`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchyard.clients.base import PROJECT, USER, Entry, Location, Notes, Place, Unsupported
from switchyard.clients.json_format import JsonFormat, copy_known, only, parse
from switchyard.clients.variables import from_editor, input_variable, to_editor

_SECTION = ("servers",)


class VSCode(JsonFormat):
    name = "vscode"
    title = "VS Code"

    def locations(self, place: Place) -> list[Location]:
        user = place.app_data() / "Code" / "User" / "mcp.json"
        return [Location(user, USER, _SECTION), Location(place.cwd / ".vscode" / "mcp.json", PROJECT, _SECTION)]

    def recognises(self, path: Path) -> bool:
        return path.name == "mcp.json" and path.parent.name in (".vscode", "User")

    def read(self, data: bytes, location: Location, place: Place, notes: Notes) -> dict[str, Entry]:
        servers = super().read(data, location, place, notes)
        inputs = parse(data).get("inputs")
        for item in inputs if isinstance(inputs, list) else []:
            if isinstance(item, Mapping) and item.get("description"):
                variable = input_variable(str(item.get("id")))
                if variable in notes.variables:
                    notes.variables[variable] += f" ({item['description']})"
        return servers

    def to_entry(self, name: str, raw: Mapping[str, Any], location: Location, place: Place, notes: Notes) -> Entry:
        entry = copy_known(name, raw, ("type", "command", "args", "env", "envFile", "cwd", "url", "headers"), notes)
        if entry.get("type") in ("stdio", "http"):
            del entry["type"]
        if "command" not in entry and "url" not in entry:
            raise Unsupported("neither 'command' nor 'url'")
        workspace = location.path.parent.parent if location.scope == PROJECT else None
        return from_editor(entry, notes, home=place.home, workspace=workspace)

    def from_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        if entry.get("url"):
            return {"type": entry.get("type", "http"), **to_editor(only(entry, ("url", "headers"), self.title))}
        return {"type": "stdio", **to_editor(only(entry, ("command", "args", "env", "envFile", "cwd"), self.title))}
