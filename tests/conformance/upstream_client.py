"""The gateway's backend side as the client under test in the conformance suite's client scenarios.

The suite starts a test server and runs `python upstream_client.py URL`: the gateway fronts that server as an
HTTP backend (probing its era, initialising or not), lists what it offers, and calls each tool once through
its own pipeline, the way a client reaching the gateway would make it.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio

from switchyard.config import Config
from switchyard.front.session import Session
from switchyard.gateway import Gateway
from switchyard.pipeline import Client

ARGUMENTS: dict[str, dict[str, Any]] = {"add_numbers": {"a": 5, "b": 3}}


async def main(url: str) -> int:
    config = Config.model_validate(
        {"mcpServers": {"server": {"type": "http", "url": url}}, "gateway": {"naming": "none"}}
    )
    gateway = Gateway(config)
    async with gateway.running():
        await gateway.wait_ready(30)
        session = Session(gateway, Client("conformance", "cli"), lambda _: None)
        session.client_capabilities = {"elicitation": {"form": {}}, "sampling": {}}
        for number, entry in enumerate(gateway.catalogue.tools, start=1):
            params = {"name": entry.public_name, "arguments": ARGUMENTS.get(entry.original_name, {})}
            response = await session.handle({"jsonrpc": "2.0", "id": number, "method": "tools/call", "params": params})
            print(entry.public_name, "->", str(response)[:200], file=sys.stderr)
        session.close()
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[-1]))
