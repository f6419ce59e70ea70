"""Remote backends: the real server-everything over Streamable HTTP and over legacy HTTP+SSE, behind the
gateway, with headers; plus completions and subscriptions routed to their owner."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import PromptReference

from tests.integration.harness import http_front, legacy_client, make_config, running_gateway, stdio_server
from tests.support import everything_argv, free_port, node_env

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def _everything_over(transport: str) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        everything_argv(transport),
        env=node_env({"PORT": str(port)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = 100
        while deadline:
            with contextlib.suppress(httpx2.HTTPError):
                httpx2.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                break
            deadline -= 1
            __import__("time").sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.asynccontextmanager
async def _gateway_for(server: dict[str, object]) -> AsyncIterator[Client]:
    async with running_gateway(make_config({"remote": server})) as gateway, http_front(gateway) as url:
        assert gateway.backends["remote"].state.value == "up", gateway.backends["remote"].last_error
        async with legacy_client(url) as client:
            yield client


@pytest.mark.parametrize(("transport", "path", "kind"), [("streamableHttp", "/mcp", "http"), ("sse", "/sse", "sse")])
async def test_a_remote_backend_behind_the_gateway(transport: str, path: str, kind: str, node_fixtures: Path) -> None:
    with _everything_over(transport) as port:
        server = {"type": kind, "url": f"http://127.0.0.1:{port}{path}", "headers": {"X-Test": "yes"}}
        async with _gateway_for(server) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            assert "remote__echo" in names and "remote__get-sum" in names
            result = await client.call_tool("remote__get-sum", {"a": 20, "b": 22})
            assert "42" in result.content[0].text  # type: ignore[union-attr]


async def test_completion_is_routed_to_the_prompt_owner(node_fixtures: Path) -> None:
    async with _gateway_for(stdio_server(everything_argv())) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        with_completion = next(
            name for name, p in prompts.items() if any(a.name == "department" for a in (p.arguments or []))
        )
        assert with_completion.startswith("remote__")
        completion = await client.complete(
            PromptReference(type="ref/prompt", name=with_completion),
            argument={"name": "department", "value": "En"},
        )
        assert "Engineering" in completion.completion.values


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_resource_updates_reach_only_subscribed_sessions(node_fixtures: Path) -> None:
    config = make_config({"remote": stdio_server(everything_argv())})
    async with running_gateway(config) as gateway, http_front(gateway) as url:
        updates: dict[str, list[str]] = {"subscriber": [], "bystander": []}

        def collect(who: str) -> Any:
            async def handler(message: Any) -> None:
                if getattr(message, "method", None) == "notifications/resources/updated":
                    updates[who].append(message.params.uri)

            return handler

        async with (
            legacy_client(url, message_handler=collect("subscriber")) as subscriber,
            legacy_client(url, message_handler=collect("bystander")) as bystander,
        ):
            resource = str((await subscriber.list_resources()).resources[0].uri)
            await subscriber.subscribe_resource(resource)
            await subscriber.call_tool("remote__toggle-subscriber-updates", {})
            with anyio.fail_after(12):  # the server sends an update every 5 s
                while not updates["subscriber"]:
                    await anyio.sleep(0.1)
            assert set(updates["subscriber"]) == {resource}
            assert updates["bystander"] == []
            await bystander.list_tools()
