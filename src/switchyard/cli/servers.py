"""`switchyard servers`: the config file's servers and the registry's; add, remove, enable, disable.

Servers added here live in the registry; a config-file server is only ever switched on or off (an override
in the registry), never edited. Changes take effect when the gateway (re)starts.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import typer

from switchyard.cli.loading import (
    CONFIG_OPTION,
    JSON_OPTION,
    REGISTRY_OPTION,
    config_error,
    fail,
    merged_config,
    opened_store,
    parse_json_object,
    parse_pairs,
    print_json,
    print_table,
    read_config,
    run,
    say,
    unknown_server,
)
from switchyard.config import Config, ConfigError, ServerConfig, server_config_from_dict
from switchyard.registry import StoredServer

if TYPE_CHECKING:
    from switchyard.registry import Store

T = TypeVar("T")

app = typer.Typer(help="List, add, remove, enable and disable backend servers.", no_args_is_help=True)

NAME_ARGUMENT = typer.Argument(..., help="The server's name.")
ARG_OPTION = typer.Option([], "--arg", help="An argument of the command (repeatable).")
ENV_OPTION = typer.Option([], "--env", help="KEY=VALUE for the command's environment (repeatable).")
HEADER_OPTION = typer.Option([], "--header", help="KEY=VALUE HTTP header (repeatable).")


@dataclass(frozen=True)
class Servers:
    """The config file's servers merged with the registry's."""

    file: Config
    merged: Config
    stored: dict[str, StoredServer]

    def source(self, name: str) -> str:
        stored = self.stored.get(name)
        return "registry" if stored is not None and stored.definition is not None else "config"

    def get(self, name: str) -> ServerConfig:
        server = self.merged.servers.get(name)
        if server is None:
            unknown_server(name, self.merged.servers)
        return server

    def describe(self, server: ServerConfig) -> dict[str, Any]:
        """What `list` and `show` print: the redacted definition, where it comes from, and whether it runs."""
        shown = server.redacted()
        shown.pop("disabled", None)
        return {**shown, "source": self.source(server.name), "enabled": not server.disabled}


def _with_servers(config: Path | None, registry: str | None, action: Callable[[Servers, Store], Awaitable[T]]) -> T:
    settings = read_config(config)

    async def main() -> T:
        async with opened_store(settings, registry) as store:
            stored = {s.name: s for s in await store.list_servers()}
            servers = Servers(settings, await merged_config(settings, store), stored)
            return await action(servers, store)

    return run(main)


@app.command("list")
def list_servers(
    config: Path | None = CONFIG_OPTION, registry: str | None = REGISTRY_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """List every server: name, source (config or registry), transport, command or URL, enabled."""

    async def collect(servers: Servers, store: Store) -> list[dict[str, Any]]:
        return [servers.describe(server) for server in servers.merged.servers.values()]

    rows = _with_servers(config, registry, collect)
    if as_json:
        print_json(rows)
        return
    if not rows:
        say("no servers: add one with `switchyard servers add NAME --command CMD` (or --url URL)")
        return
    print_table(
        ("name", "source", "transport", "command or url", "enabled"),
        ((r["name"], r["source"], r["type"], _target(r), "yes" if r["enabled"] else "no") for r in rows),
    )


def _target(shown: dict[str, Any]) -> str:
    if "url" in shown:
        return str(shown["url"])
    return shlex.join([shown.get("command", ""), *shown.get("args", [])])


@app.command("show")
def show(
    name: str = NAME_ARGUMENT,
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one server's definition (env and header values hidden)."""

    async def collect(servers: Servers, store: Store) -> dict[str, Any]:
        return servers.describe(servers.get(name))

    shown = _with_servers(config, registry, collect)
    if as_json:
        print_json(shown)
        return
    for key, value in shown.items():
        if isinstance(value, dict):
            say(f"{key}:")
            for inner, item in value.items():
                say(f"  {inner}: {item}")
        elif isinstance(value, list):
            say(f"{key}: {shlex.join(map(str, value))}")
        elif isinstance(value, bool):
            say(f"{key}: {'yes' if value else 'no'}")
        else:
            say(f"{key}: {value}")


@app.command("add")
def add(
    name: str = NAME_ARGUMENT,
    command: str | None = typer.Option(None, "--command", help="The command of a stdio server."),
    args: list[str] = ARG_OPTION,
    env: list[str] = ENV_OPTION,
    url: str | None = typer.Option(None, "--url", help="The URL of an http or sse server."),
    transport: Literal["stdio", "http", "sse"] | None = typer.Option(None, "--type", help="stdio, http or sse."),
    headers: list[str] = HEADER_OPTION,
    entry: str | None = typer.Option(None, "--json", help="The whole entry as JSON, as in a Claude mcpServers."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
) -> None:
    """Add a server to the registry (from options, or an `mcpServers` entry as --json)."""
    options = {
        "command": command,
        "args": args,
        "env": parse_pairs(env, "--env"),
        "url": url,
        "type": transport,
        "headers": parse_pairs(headers, "--header"),
    }
    options = {key: value for key, value in options.items() if value}
    if entry is not None:
        if options:
            fail("give the server as --json or with options, not both", 2)
        definition = parse_json_object(entry, "--json")
    elif "command" in options or "url" in options:
        definition = options
    else:
        fail("say how to reach the server: --command CMD (stdio), --url URL (http, sse) or --json '{...}'", 2)
    try:
        server = server_config_from_dict(name, definition)
    except ConfigError as exc:
        config_error(exc)

    async def store_it(servers: Servers, store: Store) -> None:
        if name in servers.merged.servers or name in servers.stored:
            fail(f"a server named '{name}' already exists ({servers.source(name)}); remove it first")
        clash = next((s.name for s in servers.merged.servers.values() if s.namespace == server.namespace), None)
        if clash is not None:
            fail(f"server '{name}' would share the namespace '{server.namespace}' of server '{clash}'")
        await store.upsert_server(name, definition)

    _with_servers(config, registry, store_it)
    say(f"added server '{name}' ({server.type}); it starts with the next `switchyard serve`")


@app.command("remove")
def remove(
    name: str = NAME_ARGUMENT, config: Path | None = CONFIG_OPTION, registry: str | None = REGISTRY_OPTION
) -> None:
    """Remove a server added with `switchyard servers add`."""

    async def delete(servers: Servers, store: Store) -> None:
        if servers.source(name) == "config" and name in servers.file.servers:
            fail(
                f"server '{name}' is defined in the config file {servers.file.source}: edit the file, "
                f"or run `switchyard servers disable {name}`"
            )
        if name not in servers.stored:
            unknown_server(name, servers.merged.servers)
        await store.remove_server(name)

    _with_servers(config, registry, delete)
    say(f"removed server '{name}'")


@app.command("enable")
def enable(
    name: str = NAME_ARGUMENT, config: Path | None = CONFIG_OPTION, registry: str | None = REGISTRY_OPTION
) -> None:
    """Enable a server (an override in the registry; the config file is not changed)."""
    _switch(name, True, config, registry)


@app.command("disable")
def disable(
    name: str = NAME_ARGUMENT, config: Path | None = CONFIG_OPTION, registry: str | None = REGISTRY_OPTION
) -> None:
    """Disable a server (an override in the registry; the config file is not changed)."""
    _switch(name, False, config, registry)


def _switch(name: str, enabled: bool, config: Path | None, registry: str | None) -> None:
    async def store_it(servers: Servers, store: Store) -> bool:
        was_enabled = not servers.get(name).disabled
        override: bool | None = enabled
        if servers.source(name) == "config" and enabled == (not servers.file.servers[name].disabled):
            override = None  # what the file says: keep no override that would hide a later edit of the file
        await store.upsert_server(name, None, enabled=override)
        return was_enabled

    was_enabled = _with_servers(config, registry, store_it)
    state = "enabled" if enabled else "disabled"
    say(f"server '{name}' {'was already' if was_enabled == enabled else 'is now'} {state}")
