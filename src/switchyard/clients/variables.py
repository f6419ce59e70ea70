"""Variable references across formats: `${env:NAME}` (VS Code, Cursor, Windsurf), `${input:ID}` (VS Code), `$NAME`
(Gemini CLI), `${workspaceFolder}` and `${userHome}`, to and from Switchyard's `${NAME}`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from switchyard.clients.base import Entry, Notes

_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_BARE_REFERENCE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SWITCHYARD_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?)\}")


def map_strings(entry: Mapping[str, Any], change: Callable[[str], str]) -> Entry:
    """The entry with `change` applied to every string a variable can appear in."""
    out: Entry = {}
    for key, value in entry.items():
        if isinstance(value, str) and key != "type":
            out[key] = change(value)
        elif isinstance(value, list):
            out[key] = [change(v) if isinstance(v, str) else v for v in value]
        elif isinstance(value, Mapping):
            out[key] = {k: change(v) if isinstance(v, str) else v for k, v in value.items()}
        else:
            out[key] = value
    return out


def input_variable(input_id: str) -> str:
    """The environment variable standing for a VS Code input: its id, or the id as a shell name (`api-key`:
    `API_KEY`), the second name Switchyard's config looks an `${input:...}` up by."""
    return input_id if _ENV_NAME.fullmatch(input_id) else re.sub(r"\W", "_", input_id).upper()


def from_editor(
    entry: Mapping[str, Any],
    notes: Notes,
    *,
    home: Path,
    workspace: Path | None,
) -> Entry:
    """An editor's (VS Code, Cursor, Windsurf) references as Switchyard's: `${env:X}` and `${input:X}` become
    `${X}` (inputs listed in `notes`), `${userHome}` and `${workspaceFolder}` the paths they stand for."""

    def change(text: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            body = match[1]
            kind, _, name = body.partition(":")
            if kind == "env" and name:
                return "${" + name + "}"
            if kind == "input" and name:
                variable = input_variable(name)
                notes.variables[variable] = f"VS Code input '{name}'"
                return "${" + variable + "}"
            if body == "userHome":
                return str(home)
            if body in ("workspaceFolder", "workspaceRoot") and workspace is not None:
                return str(workspace)
            return match[0]

        return _REFERENCE.sub(substitute, text)

    return map_strings(entry, change)


def to_editor(entry: Mapping[str, Any]) -> Entry:
    """Switchyard's `${X}` references as an editor's `${env:X}`."""
    return map_strings(entry, lambda text: _SWITCHYARD_REFERENCE.sub(lambda m: "${env:" + m[1] + "}", text))


def from_bare(entry: Mapping[str, Any]) -> Entry:
    """Gemini CLI's `$X` references as `${X}` (its `${X}` already is Switchyard's)."""
    return map_strings(entry, lambda text: _BARE_REFERENCE.sub(lambda m: "${" + m[1] + "}", text))


def references(value: str) -> list[str]:
    """The variable names a Switchyard value refers to."""
    return [m[1].partition(":-")[0] for m in _SWITCHYARD_REFERENCE.finditer(value)]
