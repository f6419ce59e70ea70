"""What every command needs first: the config and the registry, with one clear line when either fails.

Also the pieces several commands share: running async work, a one-shot in-process gateway, and output.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import anyio
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from switchyard.config import Config, ConfigError, default_config_path, load_config, server_config_from_dict

if TYPE_CHECKING:
    from switchyard.gateway import Gateway
    from switchyard.registry import Store

T = TypeVar("T")

# A pipe gets long lines: a table cut at 80 columns is useless to grep.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
err = Console(stderr=True, highlight=False)
out = Console(highlight=False, width=_WIDTH)

CONFIG_OPTION = typer.Option(
    None,
    "--config",
    "-c",
    help="Config file (default: $SWITCHYARD_CONFIG, ./switchyard.yaml, the user config, or the sample).",
)
REGISTRY_OPTION = typer.Option(None, "--registry", help="Registry URL or SQLite path (default: in the user data dir).")
JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")
STARTUP_TIMEOUT = 30.0
TIMEOUT_OPTION = typer.Option(STARTUP_TIMEOUT, "--timeout", min=0.1, help="Seconds to wait for the backends to start.")


def error(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    error(message)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def config_error(exc: ConfigError) -> NoReturn:
    """A config problem is a usage error: exit 2, one line per problem."""
    err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
    raise typer.Exit(2)


def read_config(path: Path | None) -> Config:
    try:
        return load_config(path or default_config_path())
    except ConfigError as exc:
        config_error(exc)


def run(main: Callable[..., Awaitable[T]], *args: Any) -> T:
    """`anyio.run`, where an exit raised inside a task group (e.g. by `fail`) stays a plain exit."""
    try:
        return anyio.run(main, *args)
    except BaseExceptionGroup as group:
        exits, others = group.split(typer.Exit)
        if exits is None or others is not None:
            raise
        first: BaseException = exits
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def open_store(config: Config, registry: str | None) -> Store:
    url = registry or config.gateway.registry
    try:
        from switchyard.registry import Store

        return await Store.open(url)
    except Exception as exc:
        fail(f"cannot open the registry {url or '(default)'}: {exc}")


@asynccontextmanager
async def opened_store(config: Config, registry: str | None) -> AsyncIterator[Store]:
    store = await open_store(config, registry)
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True):
            await store.close()


async def merged_config(config: Config, store: Store) -> Config:
    """The config file's servers, plus those added with `servers add`, with enable/disable overrides."""
    servers = dict(config.servers)
    for stored in await store.list_servers():
        if stored.definition is not None:
            try:
                servers[stored.name] = server_config_from_dict(stored.name, stored.definition)
            except ConfigError as exc:
                warn(f"registry server '{stored.name}' skipped: {exc}")
                continue
        if stored.enabled is not None and stored.name in servers:
            servers[stored.name] = servers[stored.name].model_copy(update={"disabled": not stored.enabled})
    return config.model_copy(update={"servers": servers})


def unknown_server(name: str, known: Iterable[str]) -> NoReturn:
    fail(f"no server named '{name}' (known: {', '.join(known) or 'none'})")


@asynccontextmanager
async def one_shot_gateway(
    config: Config, *, store: Store | None = None, startup_timeout: float = STARTUP_TIMEOUT
) -> AsyncIterator[Gateway]:
    """The config's enabled backends, started in this process and given `startup_timeout` to come up.

    With a store, calls are audited; the audit is flushed before the backends stop.
    """
    from switchyard.gateway import Gateway  # the gateway stack is only imported by commands that run it
    from switchyard.observability import logging as gateway_logging

    gateway_logging.configure("error")  # backends' restarts and stderr would drown the command's output
    gateway = Gateway(config, store=store)
    async with gateway.running():
        await gateway.wait_ready(startup_timeout)
        try:
            yield gateway
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await gateway.audit.flush()
                except Exception as exc:  # the gateway's writer tries once more as it stops
                    warn(f"could not write the audit log yet: {exc}")


def startup_problems(gateway: Gateway) -> dict[str, str]:
    """Server name -> why it is not up, for every backend that is not."""
    problems = {}
    for name, backend in gateway.backends.items():
        if backend.state.value != "up":
            problems[name] = backend.last_error or f"still {backend.state.value} (see --timeout)"
    return problems


# -- parsing options


def parse_pairs(items: Iterable[str], option: str) -> dict[str, str]:
    """Repeated `KEY=VALUE` options as a dict (exit 2 on one without `=`)."""
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{option} expects KEY=VALUE, got {item!r}", 2)
        pairs[key] = value
    return pairs


def parse_json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{option} is not valid JSON: {exc}", 2)
    if not isinstance(value, dict):
        fail(f"{option} must be a JSON object ({{...}}), got {_json_kind(value)}", 2)
    return value


def _json_kind(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


# -- output


def say(line: str) -> None:
    """A line of plain text on stdout (never rich markup)."""
    out.print(line, markup=False, soft_wrap=True)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_table(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """A plain table; cells are text as is (never rich markup), None shows as a dash."""
    grid = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        grid.add_row(*(Text("-" if cell is None else str(cell)) for cell in row))
    if is_tty():
        out.print(grid)
        return
    with out.capture() as captured:  # rich pads every row to the table's width: not in a pipe
        out.print(grid)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def local_time(ts: datetime) -> str:
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def is_tty() -> bool:
    return sys.stdout.isatty()
