"""Claude Code: `.mcp.json` in the project, and in `~/.claude.json` the user's `mcpServers` and each project's
own ("local" scope) under `projects[<absolute project path>].mcpServers`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchyard.clients.base import LOCAL, PROJECT, USER, Entry, Location, Notes, Place, Unsupported
from switchyard.clients.json_format import JsonFormat, copy_known, only

_KEYS = ("type", "command", "args", "env", "url", "headers")


class ClaudeCode(JsonFormat):
    name = "claude-code"
    title = "Claude Code"
    export_scope = PROJECT

    def locations(self, place: Place) -> list[Location]:
        configured = place.environ.get("CLAUDE_CONFIG_DIR")
        user_file = (Path(configured) if configured else place.home) / ".claude.json"
        return [
            Location(user_file, USER),
            Location(user_file, LOCAL, ("projects", str(place.cwd), "mcpServers")),
            Location(place.cwd / ".mcp.json", PROJECT),
        ]

    def recognises(self, path: Path) -> bool:
        return path.name in (".mcp.json", ".claude.json")

    def to_entry(self, name: str, raw: Mapping[str, Any], location: Location, place: Place, notes: Notes) -> Entry:
        entry = copy_known(name, raw, _KEYS, notes)
        if entry.get("type") == "stdio" or ("type" not in entry and "command" in entry):
            entry.pop("type", None)
        elif entry.get("type") == "http":
            del entry["type"]
        if "command" not in entry and "url" not in entry:
            raise Unsupported("neither 'command' nor 'url'")
        return entry

    def from_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        if entry.get("url"):
            return {"type": entry.get("type", "http"), **only(entry, ("url", "headers"), self.title)}
        return {"type": "stdio", **only(entry, ("command", "args", "env"), self.title)}
