"""A tiny Streamable HTTP MCP backend for the overhead benchmark.

    python benchmarks/http_backend.py [--port 0] [--tools N]

Built on the SDK's low-level `Server`, answering JSON (not SSE) responses with stateful sessions. It offers
the same `echo` tool and the same N generated tools (`tool_000` ..) as the stdio fixture
`tests/fixtures/servers/faulty.py`, whose definitions it reuses, so both backends list the same catalogue.
Once listening it prints `listening http://127.0.0.1:PORT/mcp` on stdout (useful with `--port 0`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import mcp_types as types
import uvicorn
from mcp.server import Server, ServerRequestContext

FAULTY = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "servers" / "faulty.py"


def load_faulty() -> ModuleType:
    spec = importlib.util.spec_from_file_location("faulty_fixture", FAULTY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool_definitions(count: int) -> list[dict[str, Any]]:
    faulty = load_faulty()
    echo = [tool for tool in faulty.builtin_tools() if tool["name"] == "echo"]
    return echo + list(faulty.generated_tools(count))


def build_server(count: int) -> Server[Any]:
    tools = [types.Tool.model_validate(definition) for definition in tool_definitions(count)]
    listing = types.ListToolsResult(tools=tools)
    known = {tool.name for tool in tools}

    async def list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        return listing

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> Any:
        arguments = params.arguments or {}
        if params.name == "echo":
            text = str(arguments.get("text", ""))
        elif params.name in known:
            text = f"{params.name} called"
        else:
            return types.CallToolResult(content=[types.TextContent(text=f"Unknown tool: {params.name}")], is_error=True)
        return types.CallToolResult(content=[types.TextContent(text=text)])

    return Server("http-backend", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def serve(port: int, count: int) -> None:
    app = build_server(count).streamable_http_app(json_response=True, host="127.0.0.1")
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
            raise OSError(f"could not listen on 127.0.0.1:{port}")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    print(f"listening http://127.0.0.1:{bound}/mcp", flush=True)
    await serving


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="http_backend", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--tools", type=int, default=0, metavar="N", help="add N generated tools")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.tools))
    return 0


if __name__ == "__main__":
    sys.exit(main())
