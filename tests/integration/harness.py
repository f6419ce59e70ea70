"""Run a real gateway in-process (or as a `switchyard` subprocess) and reach it with real clients."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from switchyard.config import Config
from switchyard.front.http import serve_http
from switchyard.front.session import Session
from switchyard.gateway import Gateway
from switchyard.pipeline import Client as Caller
from switchyard.registry import Store


def stdio_server(argv: Sequence[str], **extra: Any) -> dict[str, Any]:
    """An mcpServers entry for a stdio backend."""
    return {"command": argv[0], "args": list(argv[1:]), **extra}


ALL_TOOLS = {"mode": "all"}  # what tests that expect every tool listed ask for (the default mode is `auto`)


def make_config(servers: dict[str, dict[str, Any]], *, search: dict[str, Any] = ALL_TOOLS, **gateway: Any) -> Config:
    data: dict[str, Any] = {"mcpServers": servers, "search": search}
    policies = gateway.pop("policies", None)
    if policies:
        data["policies"] = policies
    if gateway:
        data["gateway"] = gateway
    return Config.model_validate(data)


def write_config(
    path: Path, servers: dict[str, dict[str, Any]], *, search: dict[str, Any] = ALL_TOOLS, **gateway: Any
) -> Path:
    data: dict[str, Any] = {"mcpServers": servers, "search": search}
    if gateway:
        data["gateway"] = gateway
    path.write_text(json.dumps(data, indent=2))
    return path


@contextlib.asynccontextmanager
async def running_gateway(config: Config, store: Store | None = None) -> AsyncIterator[Gateway]:
    gateway = Gateway(config, store=store)
    async with gateway.running():
        await gateway.wait_ready(60)
        yield gateway


@contextlib.asynccontextmanager
async def http_front(gateway: Gateway, **security: Any) -> AsyncIterator[str]:
    """Serve the gateway's HTTP front on a free loopback port; yields the /mcp URL."""
    async with anyio.create_task_group() as tasks:
        port = await tasks.start(
            lambda task_status: serve_http(gateway, "127.0.0.1", 0, task_status=task_status, **security)
        )
        yield f"http://127.0.0.1:{port}/mcp"
        tasks.cancel_scope.cancel()


def gateway_stdio_params(config_path: Path, registry: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "switchyard",
            "serve",
            "--stdio",
            "-c",
            str(config_path),
            "--registry",
            str(registry),
            "--log-level",
            "warning",
        ],
    )


def legacy_client(target: Any, **kwargs: Any) -> Client:
    return Client(target, mode="legacy", **kwargs)


def tool_names(result: Any) -> list[str]:
    return [tool.name for tool in result.tools]


def dump(model: Any) -> Any:
    """A result as plain JSON (for comparing direct and gateway answers)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def call_tool(gateway: Gateway, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """tools/call straight into the gateway's pipeline (no front), returning the raw JSON-RPC response."""
    session = Session(gateway, Caller("test", "test"), lambda message: None)
    try:
        request = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments or {}},
        }
        response = await session.handle(request)
    finally:
        session.close()
    assert response is not None
    return response


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)
