"""VS Code: `.vscode/mcp.json` in the workspace and the user profile's `mcp.json`, under `servers`, with `inputs`
(values prompted for and referenced as `${input:ID}`), `${env:NAME}`, `envFile` and an explicit `type`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchyard.clients.base import PROJECT, USER, Entry, Location, Notes, Place, Unsupported
from switchyard.clients.json_format import JsonFormat, copy_known, only
from switchyard.clients.variables import from_editor, to_editor

_SECTION = ("servers",)


class VSCode(JsonFormat):
    name = "vscode"
    title = "VS Code"

    def __init__(self) -> None:
        self._inputs: dict[str, str] = {}  # input id -> its description, from the file being read

    def locations(self, place: Place) -> list[Location]:
        user = place.app_data() / "Code" / "User" / "mcp.json"
        return [Location(user, USER, _SECTION), Location(place.cwd / ".vscode" / "mcp.json", PROJECT, _SECTION)]

    def recognises(self, path: Path) -> bool:
        return path.name == "mcp.json" and path.parent.name in (".vscode", "User")

    def read_document(self, document: Mapping[str, Any], location: Location, place: Place, notes: Notes) -> None:
        inputs = document.get("inputs")
        self._inputs = {
            str(item["id"]): str(item.get("description") or "")
            for item in (inputs if isinstance(inputs, list) else [])
            if isinstance(item, Mapping) and "id" in item
        }

    def to_entry(self, name: str, raw: Mapping[str, Any], location: Location, place: Place, notes: Notes) -> Entry:
        entry = copy_known(name, raw, ("type", "command", "args", "env", "envFile", "cwd", "url", "headers"), notes)
        if entry.get("type") in ("stdio", "http"):
            del entry["type"]
        if "command" not in entry and "url" not in entry:
            raise Unsupported("neither 'command' nor 'url'")
        workspace = location.path.parent.parent if location.scope == PROJECT else None
        return from_editor(entry, notes, home=place.home, workspace=workspace, inputs=self._inputs)

    def from_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        if entry.get("url"):
            return {"type": entry.get("type", "http"), **to_editor(only(entry, ("url", "headers"), self.title))}
        return {"type": "stdio", **to_editor(only(entry, ("command", "args", "env", "envFile", "cwd"), self.title))}
