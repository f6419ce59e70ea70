"""`switchyard serve`: run the gateway on stdio, Streamable HTTP, or both."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import typer

from switchyard.cli.loading import (
    CONFIG_OPTION,
    REGISTRY_OPTION,
    err,
    fail,
    merged_config,
    open_store,
    read_config,
    run,
)
from switchyard.config import Config

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from switchyard.gateway import Gateway
    from switchyard.registry import Store
from switchyard.observability import logging as gateway_logging


def _parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        fail(f"--http expects HOST:PORT (e.g. 127.0.0.1:8765), got {value!r}", 2)
    return host.strip("[]") or "127.0.0.1", int(port)


def serve(
    config: Path | None = CONFIG_OPTION,
    stdio: bool = typer.Option(False, "--stdio", help="Serve one client on stdin/stdout."),
    http: str | None = typer.Option(
        None, "--http", help="Serve Streamable HTTP on HOST:PORT (default from the config)."
    ),
    registry: str | None = REGISTRY_OPTION,
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    log_json: bool = typer.Option(False, "--log-json", help="Log JSON lines (to stderr)."),
    allow_unauthenticated: bool = typer.Option(
        False, "--allow-unauthenticated", help="Serve a non-loopback address even though auth is off."
    ),
) -> None:
    """Start the gateway. With neither --stdio nor --http, serves HTTP on the config's address."""
    gateway_logging.configure(log_level, json_lines=log_json)
    settings = read_config(config)
    listen = None
    if http is not None or not stdio:
        listen = _parse_listen(http) if http else (settings.gateway.http.host, settings.gateway.http.port)
        from switchyard.front.auth import UnsafeBind, check_bind  # here: stdio start-up skips the HTTP stack

        try:
            check_bind(listen[0], settings.auth, allow_unauthenticated)
        except UnsafeBind as exc:
            fail(str(exc), 2)
    run(_serve, settings, registry, stdio, listen, allow_unauthenticated)


async def _serve(
    settings: Config, registry: str | None, stdio: bool, listen: tuple[str, int] | None, allow_unauthenticated: bool
) -> None:
    # Imported here, and each front only when served: start-up time is part of every stdio client's launch.
    from switchyard.gateway import Gateway

    # The backends start while the registry opens (loading the database layer is most of start-up); servers
    # added or switched off in the registry are reconciled before any client is served.
    gateway = Gateway(settings)
    store: Store | None = None
    try:
        async with gateway.running(), anyio.create_task_group() as tasks:
            store = await open_store(settings, registry)
            settings = await merged_config(settings, store)
            gateway.attach_store(store)
            gateway.reconcile(settings)
            tasks.start_soon(_stop_on_signal, tasks.cancel_scope)
            if listen is not None:
                await _serve_http(gateway, settings, listen, tasks, allow_unauthenticated)
            if stdio:
                from switchyard.front.stdio import serve_stdio

                await serve_stdio(gateway)
                tasks.cancel_scope.cancel()
    finally:
        if store is not None:
            with anyio.CancelScope(shield=True):
                await store.close()


async def _serve_http(
    gateway: Gateway, settings: Config, listen: tuple[str, int], tasks: TaskGroup, allow_unauthenticated: bool
) -> None:
    from switchyard.front.http import serve_http

    host, port = listen
    http = settings.gateway.http
    try:
        bound = await tasks.start(
            lambda task_status: serve_http(
                gateway,
                host,
                port,
                allowed_hosts=http.allowed_hosts,
                allowed_origins=http.allowed_origins,
                allow_unauthenticated=allow_unauthenticated,
                task_status=task_status,
            )
        )
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    except ValueError as exc:  # e.g. auth.api_keys without a registry
        fail(f"cannot serve HTTP: {exc}")
    _print_connect_help(settings, host, bound)


async def _stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for _ in signals:
            scope.cancel()
            return


def _print_connect_help(settings: Config, host: str, port: int) -> None:
    display_host = f"[{host}]" if ":" in host else host
    url = f"http://{display_host}:{port}/mcp"
    names = ", ".join(s.name for s in settings.enabled_servers()) or "none"
    err.print(
        f"[bold]Switchyard[/bold] is serving {len(settings.enabled_servers())} server(s): {names}", soft_wrap=True
    )
    err.print(f"  Streamable HTTP   {url}", soft_wrap=True)
    err.print(f"  Claude Code       claude mcp add --transport http switchyard {url}", soft_wrap=True)
    err.print(
        f"  MCP Inspector     npx @modelcontextprotocol/inspector --cli {url} --transport http --method tools/list",
        soft_wrap=True,
    )
    err.print(
        '  Claude Desktop    {"mcpServers": {"switchyard": {"command": "switchyard", "args": ["serve", "--stdio"]}}}',
        soft_wrap=True,
    )
    err.print(f"  Health            http://{display_host}:{port}/readyz", soft_wrap=True)
