"""Codex: `~/.codex/config.toml` (or `$CODEX_HOME/config.toml`) and a trusted project's `.codex/config.toml`,
one `[mcp_servers.NAME]` table per server.

Codex passes `env` values literally; `env_vars` lists variables passed through from its own environment (a
`${NAME}` value under the same name in Switchyard). A remote server has `url`, with `bearer_token_env_var`,
`http_headers` and `env_http_headers` (header -> variable). Rewriting goes through tomlkit: comments and layout stay.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from switchyard.clients.base import PROJECT, USER, ClientFormat, Entry, Location, Notes, Place, Unsupported
from switchyard.clients.json_format import only

_SECTION = ("mcp_servers",)
_WHOLE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BEARER = re.compile(r"Bearer \$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KNOWN = {"command", "args", "env", "env_vars", "cwd", "url", "bearer_token_env_var", "http_headers",
          "env_http_headers", "enabled"}  # fmt: skip


class CodexFileError(ValueError):
    pass


class Codex(ClientFormat):
    name = "codex"
    title = "Codex"

    def locations(self, place: Place) -> list[Location]:
        home = place.environ.get("CODEX_HOME")
        user = (Path(home) if home else place.home / ".codex") / "config.toml"
        return [Location(user, USER, _SECTION), Location(place.cwd / ".codex" / "config.toml", PROJECT, _SECTION)]

    def recognises(self, path: Path) -> bool:
        return path.suffix == ".toml"

    def read(self, data: bytes, location: Location, place: Place, notes: Notes) -> dict[str, Entry]:
        try:
            document = tomllib.loads(data.decode("utf-8-sig"))
        except tomllib.TOMLDecodeError as exc:
            raise CodexFileError(f"invalid TOML: {exc}") from None
        servers = document.get("mcp_servers")
        found = {}
        for name, raw in (servers if isinstance(servers, dict) else {}).items():
            if not isinstance(raw, dict) or not ("command" in raw or "url" in raw):
                notes.dropped.append(f"{name}: neither 'command' nor 'url', skipped")
                continue
            found[name] = self._to_entry(name, raw, notes)
        return found

    def _to_entry(self, name: str, raw: Mapping[str, Any], notes: Notes) -> Entry:
        for key in raw:
            if key not in _KNOWN:
                notes.dropped.append(f"{name}: '{key}' not carried over")
        if "url" in raw:
            headers = {**raw.get("http_headers", {})}
            headers.update({h: "${" + v + "}" for h, v in raw.get("env_http_headers", {}).items()})
            if token := raw.get("bearer_token_env_var"):
                headers["Authorization"] = "Bearer ${" + token + "}"
            entry: Entry = {"url": raw["url"], "headers": headers}
        else:
            env = {v: "${" + v + "}" for v in raw.get("env_vars", [])} | dict(raw.get("env", {}))
            entry = {"command": raw["command"], "args": list(raw.get("args", [])), "env": env, "cwd": raw.get("cwd")}
        if raw.get("enabled") is False:
            entry["disabled"] = True
        return {k: v for k, v in entry.items() if v not in (None, [], {})}

    def render(self, original: bytes | None, location: Location, remove: set[str], add: Mapping[str, Entry]) -> bytes:
        document = tomlkit.parse(original.decode("utf-8-sig")) if original else tomlkit.document()
        servers = document.get("mcp_servers")
        if not isinstance(servers, Table):
            servers = tomlkit.table(is_super_table=True)
            document["mcp_servers"] = servers
        for name in remove:
            if name in servers:
                del servers[name]
        for name, entry in add.items():
            servers[name] = self.from_entry(entry)
        text = tomlkit.dumps(document)
        return (text if text.endswith("\n") or not text else text + "\n").encode()

    def from_entry(self, entry: Mapping[str, Any]) -> Table:
        table = tomlkit.table()
        if entry.get("url"):
            if entry.get("type") == "sse":
                raise Unsupported("Codex has no SSE servers")
            remote = only(entry, ("url", "headers"), self.title)
            table.add("url", remote["url"])
            plain, from_env = {}, {}
            for header, value in remote.get("headers", {}).items():
                if header.lower() == "authorization" and (bearer := _BEARER.fullmatch(value)):
                    table.add("bearer_token_env_var", bearer[1])
                elif whole := _WHOLE_REFERENCE.fullmatch(value):
                    from_env[header] = whole[1]
                else:
                    plain[header] = value
            for key, values in (("http_headers", plain), ("env_http_headers", from_env)):
                if values:
                    table.add(key, _inline(values))
            return table
        local = only(entry, ("command", "args", "env", "cwd"), self.title)
        table.add("command", local["command"])
        if local.get("args"):
            table.add("args", local["args"])
        passed = [k for k, v in local.get("env", {}).items() if v == "${" + k + "}"]
        literal = {k: v for k, v in local.get("env", {}).items() if k not in passed}
        if referring := [k for k, v in literal.items() if "${" in v]:
            raise Unsupported(f"Codex passes env values as written: {referring[0]} cannot keep its reference")
        if literal:
            table.add("env", _inline(literal))
        if passed:
            table.add("env_vars", passed)
        if local.get("cwd"):
            table.add("cwd", local["cwd"])
        return table


def _inline(values: Mapping[str, str]) -> Any:
    table = tomlkit.inline_table()
    table.update(values)
    return table
