"""A minimal MCP relay built only from the official SDK: a second baseline for the overhead benchmark.

    python benchmarks/sdk_relay.py -- COMMAND [ARGS...]

mcp 2.3.0 ships no proxy facility (no FastMCP `as_proxy`; `mcp.server.fastmcp` is a stub that raises), so
this is the closest stand-in: a low-level `Server` on stdio whose `tools/list` and `tools/call` handlers
forward through one `mcp.Client` session to a stdio backend. Every message becomes pydantic models both
ways, which is what DESIGN.md's "Rules of the hot path" measured at about 1.2 ms per call.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server


def build_relay(command: str, args: list[str]) -> Server[Client]:
    @asynccontextmanager
    async def lifespan(_: Server[Client]) -> AsyncIterator[Client]:
        params = StdioServerParameters(command=command, args=args)
        async with Client(params, mode="legacy", cache=None) as client:
            yield client

    async def list_tools(ctx: ServerRequestContext[Client], params: types.PaginatedRequestParams | None) -> Any:
        return await ctx.lifespan_context.list_tools(cursor=params.cursor if params else None)

    async def call_tool(ctx: ServerRequestContext[Client], params: types.CallToolRequestParams) -> Any:
        return await ctx.lifespan_context.call_tool(params.name, params.arguments or {})

    return Server("sdk-relay", version="1.0.0", lifespan=lifespan, on_list_tools=list_tools, on_call_tool=call_tool)


async def serve(command: str, args: list[str]) -> None:
    relay = build_relay(command, args)
    async with stdio_server() as (read, write):
        await relay.run(read, write, relay.create_initialization_options())


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: sdk_relay.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    anyio.run(serve, argv[0], argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
