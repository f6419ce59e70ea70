"""Gemini CLI: `~/.gemini/settings.json` and the project's `.gemini/settings.json`, `mcpServers`; `httpUrl` is a
Streamable HTTP server, `url` an SSE one, and values may hold `$NAME` or `${NAME}`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchyard.clients.base import PROJECT, USER, Entry, Location, Notes, Place, Unsupported
from switchyard.clients.json_format import JsonFormat, copy_known, only
from switchyard.clients.variables import from_bare


class Gemini(JsonFormat):
    name = "gemini"
    title = "Gemini CLI"

    def locations(self, place: Place) -> list[Location]:
        name = Path(".gemini") / "settings.json"
        return [Location(place.home / name, USER), Location(place.cwd / name, PROJECT)]

    def recognises(self, path: Path) -> bool:
        return path.name == "settings.json" and path.parent.name == ".gemini"

    def to_entry(self, name: str, raw: Mapping[str, Any], location: Location, place: Place, notes: Notes) -> Entry:
        raw = dict(raw)
        if "httpUrl" in raw:
            raw["url"] = raw.pop("httpUrl")
        elif "url" in raw and raw.get("type") != "http":
            raw["type"] = "sse"
        if raw.get("type") == "http":
            del raw["type"]
        entry = copy_known(name, raw, ("type", "command", "args", "env", "cwd", "url", "headers"), notes)
        if "command" not in entry and "url" not in entry:
            raise Unsupported("neither 'command' nor 'httpUrl' nor 'url'")
        return from_bare(entry)

    def from_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        if entry.get("url"):
            remote = only(entry, ("url", "headers"), self.title)
            url = remote.pop("url")
            return {"url" if entry.get("type") == "sse" else "httpUrl": url, **remote}
        return only(entry, ("command", "args", "env", "cwd"), self.title)
