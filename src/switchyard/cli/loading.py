"""What every command needs first: the config and the registry, with one clear line when either fails."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from switchyard.config import Config, ConfigError, default_config_path, load_config, server_config_from_dict
from switchyard.registry import Store

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

CONFIG_OPTION = typer.Option(None, "--config", "-c", help="Config file (default: $SWITCHYARD_CONFIG, ./switchyard.yaml, the user config, or the bundled sample).")
REGISTRY_OPTION = typer.Option(None, "--registry", help="Registry URL or SQLite path (default: in the user data dir).")
JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def read_config(path: Path | None) -> Config:
    try:
        return load_config(path or default_config_path())
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}", markup=True, soft_wrap=True)
        raise typer.Exit(2) from None


async def open_store(config: Config, registry: str | None) -> Store:
    url = registry or config.gateway.registry
    try:
        return await Store.open(url)
    except Exception as exc:
        fail(f"cannot open the registry {url or '(default)'}: {exc}")


async def merged_config(config: Config, store: Store) -> Config:
    """The config file's servers, plus those added with `switchyard servers add`, with enable/disable overrides."""
    servers = dict(config.servers)
    for stored in await store.list_servers():
        if stored.definition is not None:
            try:
                servers[stored.name] = server_config_from_dict(stored.name, stored.definition)
            except ConfigError as exc:
                err.print(f"[yellow]warning:[/yellow] registry server '{stored.name}' skipped: {exc}")
                continue
        if stored.enabled is not None and stored.name in servers:
            servers[stored.name] = servers[stored.name].model_copy(update={"disabled": not stored.enabled})
    return config.model_copy(update={"servers": servers})


def is_tty() -> bool:
    return sys.stdout.isatty()
