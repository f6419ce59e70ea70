"""Client formats kept in a JSON file (all but Codex): servers under a key path, the rest of the file left as is.

Rewriting keeps the keys' order, the indentation (spaces or tabs) and the final newline. Comments (VS Code's
mcp.json is JSONC) are read past but not written back; the backup `connect` takes keeps them.
"""

from __future__ import annotations

import json
import re
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

from switchyard.clients.base import ClientFormat, Entry, Location, Notes, Place, Unsupported

_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA = re.compile(r'("(?:\\.|[^"\\])*")|,(?=\s*[}\]])')
_FIRST_INDENT = re.compile(r"\{\s*?\n([ \t]+)\S")


class JsonFileError(ValueError):
    pass


def parse(data: bytes) -> dict[str, Any]:
    text = data.decode("utf-8-sig")
    text = _TRAILING_COMMA.sub(lambda m: m[1] or "", _COMMENT.sub(lambda m: m[1] or "", text))
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(document, dict):
        raise JsonFileError("expected a JSON object at the top level")
    return document


def dump(document: Mapping[str, Any], like: bytes | None) -> bytes:
    """`document` as JSON written the way `like` was (two spaces and a final newline for a new file)."""
    text = (like or b"").decode("utf-8-sig")
    found = _FIRST_INDENT.search(text)
    indent = found[1] if found else "  "
    ends_with_newline = text.endswith("\n") or not text
    out = json.dumps(document, indent=indent, ensure_ascii=False)
    return (out + ("\n" if ends_with_newline else "")).encode()


class JsonFormat(ClientFormat):
    """A client whose servers are a JSON object of name -> entry at `location.section` in its file."""

    @abstractmethod
    def to_entry(self, name: str, raw: Mapping[str, Any], location: Location, place: Place, notes: Notes) -> Entry:
        """One of the client's server entries in Switchyard's shape."""

    @abstractmethod
    def from_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """A server in Switchyard's shape as the client writes it (raises Unsupported when it cannot)."""

    def read(self, data: bytes, location: Location, place: Place, notes: Notes) -> dict[str, Entry]:
        servers: Any = parse(data)
        for key in location.section:
            servers = servers.get(key) if isinstance(servers, Mapping) else None
        if not isinstance(servers, Mapping):
            return {}
        found = {}
        for name, raw in servers.items():
            if not isinstance(raw, Mapping):
                notes.dropped.append(f"{name}: not an object, skipped")
                continue
            try:
                found[name] = self.to_entry(name, raw, location, place, notes)
            except Unsupported as exc:
                notes.dropped.append(f"{name}: {exc}, skipped")
        return found

    def render(self, original: bytes | None, location: Location, remove: set[str], add: Mapping[str, Entry]) -> bytes:
        document = parse(original) if original else {}
        parent: dict[str, Any] = document
        *outer, last = location.section
        for key in outer:
            child = parent.get(key)
            if not isinstance(child, dict):
                child = parent[key] = {}
            parent = child
        existing = parent.get(last)
        servers = {k: v for k, v in (existing if isinstance(existing, dict) else {}).items() if k not in remove}
        for name, entry in add.items():
            servers[name] = self.from_entry(entry)
        parent[last] = servers
        return dump(document, original)


def copy_known(name: str, raw: Mapping[str, Any], known: tuple[str, ...], notes: Notes) -> Entry:
    """The keys of `raw` that Switchyard has under the same name; the others noted as dropped."""
    entry = {key: raw[key] for key in known if key in raw and raw[key] is not None}
    for key in raw:
        if key not in known:
            notes.dropped.append(f"{name}: '{key}' not carried over")
    return entry


def only(entry: Mapping[str, Any], allowed: tuple[str, ...], title: str) -> dict[str, Any]:
    """The entry's keys, all of which `allowed` (Unsupported names the first that is not); empty ones left out."""
    for key, value in entry.items():
        if key not in (*allowed, "type") and value not in (None, [], {}, False):
            raise Unsupported(f"{title} has no '{key}' for a server")
    return {key: entry[key] for key in allowed if entry.get(key) not in (None, [], {})}
