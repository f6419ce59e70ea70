"""The client formats by name, and finding which one a file is."""

from __future__ import annotations

from pathlib import Path

from switchyard.clients.base import ClientFormat
from switchyard.clients.claude_code import ClaudeCode
from switchyard.clients.claude_desktop import ClaudeDesktop
from switchyard.clients.codex import Codex
from switchyard.clients.cursor import Cursor
from switchyard.clients.gemini import Gemini
from switchyard.clients.vscode import VSCode
from switchyard.clients.windsurf import Windsurf

FORMATS: dict[str, ClientFormat] = {
    fmt.name: fmt for fmt in (ClaudeDesktop(), ClaudeCode(), Cursor(), VSCode(), Windsurf(), Gemini(), Codex())
}


def format_named(name: str) -> ClientFormat | None:
    return FORMATS.get(name.lower())


def format_of(path: Path) -> ClientFormat | None:
    """The format a file's name and folder say it is in, if any."""
    return next((fmt for fmt in FORMATS.values() if fmt.recognises(path)), None)
