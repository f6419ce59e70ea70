"""A tiny stdio MCP server that offers one server's tools from a tool-search data set (stdlib only, starts fast).

    python benchmarks/catalogue_server.py TOOLS_JSONL SERVER_NAME

TOOLS_JSONL holds one tool per line: {"server", "name", "description", "inputSchema", ["title"],
["serverDescription"]}. The server offers the lines whose `server` is SERVER_NAME, says the server's description
in its `instructions`, and answers every tools/call with a short text naming the tool.
"""

from __future__ import annotations

import json
import sys
from typing import Any

PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")


def load(path: str, server: str) -> tuple[list[dict[str, Any]], str]:
    tools: list[dict[str, Any]] = []
    description = ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            if record["server"] != server:
                continue
            description = description or record.get("serverDescription", "")
            tool = {
                "name": record["name"],
                "description": record.get("description", ""),
                "inputSchema": record.get("inputSchema") or {"type": "object"},
            }
            if record.get("title"):
                tool["title"] = record["title"]
            tools.append(tool)
    return tools, description


def answer(request: dict[str, Any], tools: list[dict[str, Any]], server: str, description: str) -> dict[str, Any]:
    method = request.get("method")
    if method == "initialize":
        asked = request.get("params", {}).get("protocolVersion")
        result: dict[str, Any] = {
            "protocolVersion": asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0],
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": server, "version": "1.0.0"},
        }
        if description:
            result["instructions"] = description
        return {"result": result}
    if method == "tools/list":
        return {"result": {"tools": tools}}
    if method == "tools/call":
        name = request.get("params", {}).get("name")
        return {"result": {"content": [{"type": "text", "text": f"{server}/{name} ran"}], "isError": False}}
    if method == "ping":
        return {"result": {}}
    return {"error": {"code": -32601, "message": f"method not found: {method}"}}


def main() -> None:
    path, server = sys.argv[1], sys.argv[2]
    tools, description = load(path, server)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if "id" not in request or "method" not in request:
            continue  # notifications and responses need no answer
        reply = {"jsonrpc": "2.0", "id": request["id"], **answer(request, tools, server, description)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
