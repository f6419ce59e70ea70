"""Switchyard's own config file as `import` edits it: servers added in place, comments and layout kept."""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter

from switchyard.clients.base import Entry
from switchyard.clients.files import write_atomically
from switchyard.clients.json_format import parse as parse_json

_ENTRY_ORDER = ("type", "command", "args", "env", "envFile", "cwd", "url", "headers", "disabled")
# A list written flush with its key ("args:\n- a") rather than indented under it.
_FLUSH_LIST = re.compile(r"^( *)[^\s#-][^\n]*:[ \t]*\n\1- ", re.M)


class SwitchyardFileError(ValueError):
    pass


_STR = "tag:yaml.org,2002:str"
_GATEWAY_RESOLVER = yaml.resolver.Resolver()  # the gateway reads YAML 1.1: `yes`, `on` and `~` are no strings


class _Representer(RoundTripRepresenter):
    """ruamel writes YAML 1.2; a string the gateway's YAML 1.1 loader would take for something else is quoted."""

    def represent_str(self, data: str) -> ScalarNode:
        plain = _GATEWAY_RESOLVER.resolve(yaml.ScalarNode, data, (True, False)) == _STR
        return self.represent_scalar(_STR, data, style=None if plain else "'")


_Representer.add_representer(str, _Representer.represent_str)


class SwitchyardFile:
    """The config at `path` (absent: a new one that starts with `gateway.naming: auto`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.suffix.lower() == ".json":
            raise SwitchyardFileError(f"{path}: import writes YAML; point --config at a .yaml file")
        try:
            self.original: str | None = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            self.original = None
        except OSError as exc:
            raise SwitchyardFileError(f"{path}: cannot read: {exc.strerror}") from None
        self._yaml = YAML()
        self._yaml.Representer = _Representer
        self._yaml.preserve_quotes = True
        flush = self.original is not None and _FLUSH_LIST.search(self.original) is not None
        self._yaml.indent(mapping=2, sequence=2 if flush else 4, offset=0 if flush else 2)
        try:
            loaded = self._yaml.load(self.original) if self.original else None
        except YAMLError as exc:
            raise SwitchyardFileError(f"{path}: invalid YAML: {exc}") from None
        if loaded is None:
            loaded = CommentedMap()
        if not isinstance(loaded, CommentedMap):
            raise SwitchyardFileError(f"{path}: expected a mapping at the top level")
        self.document = loaded
        if self.original is None:
            self.document["gateway"] = CommentedMap(naming="auto")
            self.document["gateway"].yaml_add_eol_comment("tool names as the clients already know them", "naming")

    @property
    def created(self) -> bool:
        return self.original is None

    @property
    def _servers_key(self) -> str:
        return "mcpServers" if "mcpServers" in self.document and "servers" not in self.document else "servers"

    def servers(self) -> dict[str, Entry]:
        """The file's servers as written (`${VAR}` not expanded)."""
        servers = self.document.get(self._servers_key)
        if not isinstance(servers, Mapping):
            return {}
        return {str(name): _plain(entry) for name, entry in servers.items() if isinstance(entry, Mapping)}

    @property
    def naming(self) -> str:
        gateway = self.document.get("gateway")
        return str(gateway.get("naming", "prefix")) if isinstance(gateway, Mapping) else "prefix"

    def put(self, name: str, entry: Mapping[str, Any]) -> None:
        """Add the server (after the others), or replace the one of that name where it stands."""
        servers = self.document.get(self._servers_key)
        if not isinstance(servers, CommentedMap):
            servers = self.document[self._servers_key] = CommentedMap()
        servers[name] = CommentedMap((key, entry[key]) for key in _ENTRY_ORDER if key in entry)

    def text(self) -> str:
        stream = io.StringIO()
        self._yaml.dump(self.document, stream)
        return stream.getvalue()

    def diff(self) -> str:
        before = (self.original or "").splitlines(keepends=True)
        after = self.text().splitlines(keepends=True)
        label = str(self.path)
        return "".join(difflib.unified_diff(before, after, "/dev/null" if self.created else label, label))

    def write(self) -> None:
        write_atomically(self.path, self.text().encode())


def servers_in(path: Path) -> dict[str, Entry]:
    """The servers of any Switchyard config, YAML or JSON, as written."""
    if path.suffix.lower() != ".json":
        return SwitchyardFile(path).servers()
    try:
        document = parse_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SwitchyardFileError(f"{path}: {exc}") from None
    servers = document.get("mcpServers", document.get("servers"))
    return {str(k): dict(v) for k, v in (servers or {}).items() if isinstance(v, Mapping)}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
