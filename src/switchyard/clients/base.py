"""What every client format provides, and the neutral form servers take between formats.

A server travels as an `Entry`: one server in Switchyard's own config shape (`command`, `args`, `env`, `cwd`,
`envFile`, or `type`, `url`, `headers`; plus `disabled`), with values as written, so `${VAR}` references stay
references. Each format converts its own entries to and from that shape.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Entry = dict[str, Any]
GATEWAY_NAME = "switchyard"  # the entry `connect` writes into a client's config

# Where a server's definition applies: a user's every project, one project (a shared file in it), or one
# project for one user only (Claude Code's "local" scope).
Scope = str
USER, PROJECT, LOCAL = "user", "project", "local"


@dataclass(frozen=True)
class Place:
    """Where the user is: home, working directory, platform (`sys.platform`) and environment."""

    home: Path
    cwd: Path
    platform: str
    environ: Mapping[str, str]

    def app_data(self) -> Path:
        """Where desktop apps keep their settings: Application Support, %APPDATA%, or $XDG_CONFIG_HOME."""
        if self.platform == "darwin":
            return self.home / "Library" / "Application Support"
        if self.platform == "win32":
            return Path(self.environ.get("APPDATA") or self.home / "AppData" / "Roaming")
        configured = self.environ.get("XDG_CONFIG_HOME")
        return Path(configured) if configured and os.path.isabs(configured) else self.home / ".config"


@dataclass(frozen=True)
class Location:
    path: Path
    scope: Scope
    section: tuple[str, ...] = ("mcpServers",)  # the keys leading to the servers in the file


@dataclass
class Notes:
    """What reading a client's file found worth telling the user."""

    variables: dict[str, str] = field(default_factory=dict)  # ${NAME} to set -> what it was in the client
    dropped: list[str] = field(default_factory=list)  # settings Switchyard has no place for


class Unsupported(Exception):
    """A server or setting the client's format cannot express."""


class ClientFormat(ABC):
    name: str  # as typed on the command line
    title: str  # as the client calls itself
    remote: bool = True  # the client reaches HTTP servers by URL
    gateway_scope: Scope = USER  # where `connect` puts the gateway's entry unless told otherwise
    export_scope: Scope = USER  # the shape `export` writes

    @abstractmethod
    def locations(self, place: Place) -> list[Location]:
        """Every file (and part of one) that can hold this client's servers, most general first."""

    @abstractmethod
    def read(self, data: bytes, location: Location, place: Place, notes: Notes) -> dict[str, Entry]:
        """The servers defined at `location`, given the file's bytes."""

    @abstractmethod
    def render(self, original: bytes | None, location: Location, remove: set[str], add: Mapping[str, Entry]) -> bytes:
        """The file with servers `remove` taken out and `add` put in (after the others); the rest untouched."""

    def recognises(self, path: Path) -> bool:
        """Whether a file given by path is probably this client's."""
        return False


def scrub_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)
