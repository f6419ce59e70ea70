"""Reaching an MCP endpoint with the official SDK client and recording what it exposes.

An endpoint is a configured server started directly (its own transport, env and envFile applied as the gateway
applies them) or the gateway itself (`switchyard serve --stdio`, the command a client runs once connected).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from mcp import Client, StdioServerParameters, types
from mcp.client._transport import TransportStreams
from mcp.client.session import ClientRequestContext
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from switchyard.config import ServerConfig
from switchyard.upstream.process import child_environment

STDERR_TAIL_LINES = 3
Definition = dict[str, Any]


class StartupError(Exception):
    """An endpoint that could not be reached: the message says why (command, exit, stderr tail, network)."""


@dataclass(slots=True)
class Snapshot:
    """Everything an endpoint lists, as plain JSON, every page."""

    tools: list[Definition] = field(default_factory=list)
    prompts: list[Definition] = field(default_factory=list)
    resources: list[Definition] = field(default_factory=list)
    templates: list[Definition] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HarmlessCall:
    tool: str  # the server's own name
    arguments: dict[str, Any]


def as_json(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


_DECLINED = types.ErrorData(code=types.INVALID_REQUEST, message="switchyard verify answers no server requests")


async def _no_sampling(
    context: ClientRequestContext, params: types.CreateMessageRequestParams
) -> types.CreateMessageResult | types.CreateMessageResultWithTools | types.ErrorData:
    return _DECLINED


async def _no_elicitation(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ErrorData:
    return _DECLINED


def _client(transport: Any, timeout: float) -> Client:
    # Declares what the gateway's own backend sessions declare (sampling and elicitation, no roots), since
    # servers such as server-everything offer tools depending on it; speaks the handshake era that the
    # clients being moved behind the gateway speak today.
    return Client(
        transport,
        mode="legacy",
        read_timeout_seconds=timeout,
        sampling_callback=_no_sampling,
        elicitation_callback=_no_elicitation,
        cache=None,
    )


def _tail(errlog: TextIO) -> str:
    errlog.seek(0)
    lines = [line for line in errlog.read().splitlines() if line.strip()]
    return " | ".join(lines[-STDERR_TAIL_LINES:])


def reason(exc: BaseException) -> str:
    """The first meaningful error inside task groups, in words."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.asynccontextmanager
async def _connected(
    transport: Callable[[TextIO], Any], timeout: float, describe: Callable[[BaseException], str]
) -> AsyncIterator[Client]:
    """A client past its handshake, or StartupError saying why not (with the stderr tail)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        entered = False
        try:
            # The handshake is bounded by the client's read timeout: a scope around __aenter__ alone would be
            # exited in the middle of the task groups the client opens.
            async with _client(transport(errlog), timeout) as client:
                entered = True
                yield client
        except Exception as exc:
            if entered:
                raise
            tail = _tail(errlog)
            raise StartupError(describe(exc) + (f"; stderr: {tail}" if tail else "")) from None


def connect_direct(server: ServerConfig, timeout: float) -> contextlib.AbstractAsyncContextManager[Client]:
    """The server started on its own transport, as its config says."""
    if server.type == "stdio":
        assert server.command is not None
        params = StdioServerParameters(
            command=server.command, args=server.args, env=child_environment(server.env), cwd=server.cwd
        )

        def describe(exc: BaseException) -> str:
            if isinstance(exc, FileNotFoundError):
                missing = server.cwd if server.cwd and not os.path.isdir(server.cwd) else server.command
                return f"command not found: {missing}"
            if isinstance(exc, PermissionError):
                return f"not executable: {server.command}"
            return f"exited or did not answer the handshake ({reason(exc)})"

        return _connected(lambda errlog: stdio_client(params, errlog=errlog), timeout, describe)

    assert server.url is not None
    url, headers = server.url, server.headers

    def describe_http(exc: BaseException) -> str:
        return f"{server.type} endpoint {url} unreachable or not MCP ({reason(exc)})"

    if server.type == "sse":
        return _connected(lambda _: sse_client(url, headers=headers), timeout, describe_http)
    return _connected(lambda _: _streamable_http(url, headers), timeout, describe_http)


@contextlib.asynccontextmanager
async def _streamable_http(url: str, headers: dict[str, str]) -> AsyncIterator[TransportStreams]:
    """Streamable HTTP with the server's headers (the SDK leaves a client it is given open: close it here)."""
    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


def gateway_argv(config_file: str, registry: str | None) -> list[str]:
    argv = [sys.executable, "-m", "switchyard", "serve", "--stdio", "-c", config_file, "--log-level", "warning"]
    return argv + (["--registry", registry] if registry else [])


def connect_gateway(argv: Sequence[str], timeout: float) -> contextlib.AbstractAsyncContextManager[Client]:
    """`switchyard serve --stdio` with the same config, started the way a connected client starts it."""
    params = StdioServerParameters(command=argv[0], args=list(argv[1:]), env=dict(os.environ))
    return _connected(
        lambda errlog: stdio_client(params, errlog=errlog),
        timeout,
        lambda exc: f"the gateway did not start ({reason(exc)})",
    )


async def _all_pages(fetch: Callable[..., Awaitable[Any]], key: str) -> list[Definition]:
    items: list[Definition] = []
    cursor = None
    while True:
        page = await (fetch(cursor=cursor) if cursor else fetch())
        items.extend(as_json(item) for item in getattr(page, key))
        cursor = page.next_cursor
        if not cursor:
            return items


async def snapshot(client: Client) -> Snapshot:
    """What the endpoint lists, for the kinds it declares."""
    caps = client.server_capabilities
    found = Snapshot()
    if caps.tools is not None:
        found.tools = await _all_pages(client.list_tools, "tools")
    if caps.prompts is not None:
        found.prompts = await _all_pages(client.list_prompts, "prompts")
    if caps.resources is not None:
        found.resources = await _all_pages(client.list_resources, "resources")
        found.templates = await _all_pages(client.list_resource_templates, "resource_templates")
    return found


async def call(client: Client, name: str, arguments: dict[str, Any]) -> Definition:
    """The tool's result as JSON; an error the endpoint answers with is recorded as a result, not raised."""
    try:
        return dict(as_json(await client.call_tool(name, arguments)))
    except Exception as exc:
        return {"error": reason(exc)}


_NO_VALUE = object()


def _fill(schema: Any) -> Any:
    """A value the schema itself offers: its default, first enum value, first example or const."""
    if not isinstance(schema, dict):
        return _NO_VALUE
    if "default" in schema:
        return schema["default"]
    for key in ("enum", "examples"):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema[key][0]
    return schema.get("const", _NO_VALUE)


def harmless_call(tools: Sequence[Definition]) -> HarmlessCall | None:
    """The first tool (in the server's order) that says it only reads and stays in its own world, and whose
    required arguments the schema can fill: calling it changes nothing."""
    for tool in tools:
        hints = tool.get("annotations") or {}
        if hints.get("readOnlyHint") is not True or hints.get("openWorldHint") is True:
            continue
        if (tool.get("execution") or {}).get("taskSupport") == "required":
            continue
        schema = tool.get("inputSchema") or {}
        properties = schema.get("properties") or {}
        arguments = {name: _fill(properties.get(name)) for name in schema.get("required") or []}
        if all(value is not _NO_VALUE for value in arguments.values()):
            return HarmlessCall(tool["name"], arguments)
    return None
