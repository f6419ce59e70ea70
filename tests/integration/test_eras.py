"""Clients of both protocol eras through both fronts: 2025-11-25 (initialize, sessions) and 2026-07-28
(server/discover, per-request envelopes, mirrored headers), against backends of either kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from switchyard.upstream.backend import DISCOVER_TIMEOUT, State
from tests.integration.harness import (
    gateway_stdio_params,
    http_front,
    make_config,
    running_gateway,
    stdio_server,
    write_config,
)
from tests.support import faulty_argv, time_server_argv

pytestmark = pytest.mark.integration

SERVERS = {"legacy": stdio_server(faulty_argv()), "time": stdio_server(time_server_argv())}
MODES = ["legacy", "2026-07-28", "auto"]
EXPECTED_VERSION = {"legacy": "2025-11-25", "2026-07-28": "2026-07-28", "auto": "2026-07-28"}


async def _exercise(client: Client, mode: str) -> None:
    assert client.protocol_version == EXPECTED_VERSION[mode]
    names = [t.name for t in (await client.list_tools()).tools]
    assert {"legacy__echo", "time__get_current_time"} <= set(names)
    echoed = await client.call_tool("legacy__echo", {"text": f"from a {mode} client"})
    assert echoed.content[0].text == f"from a {mode} client"  # type: ignore[union-attr]
    now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
    assert now.structured_content is not None and now.structured_content["timezone"] == "UTC"
    steps: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        steps.append(value)

    await client.call_tool("legacy__progress", {"steps": 2}, progress_callback=on_progress)
    assert steps == [1, 2]


@pytest.mark.parametrize("mode", MODES)
async def test_each_era_over_http(mode: str) -> None:
    async with running_gateway(make_config(SERVERS)) as gateway, http_front(gateway) as url:
        async with Client(url, mode=mode) as client:  # type: ignore[arg-type]
            await _exercise(client, mode)


@pytest.mark.parametrize("mode", MODES)
async def test_each_era_over_stdio(mode: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "switchyard.json", SERVERS)
    async with Client(gateway_stdio_params(config, tmp_path / "r.db"), mode=mode) as client:  # type: ignore[arg-type]
        await _exercise(client, mode)


def _envelope(**extra: Any) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
        **extra,
    }


def _headers(method: str, name: str | None = None, version: str = "2026-07-28") -> dict[str, str]:
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": version,
        "Mcp-Method": method,
    }
    if name is not None:
        headers["Mcp-Name"] = name
    return headers


async def test_modern_wire_rules_over_http() -> None:
    async with running_gateway(make_config(SERVERS)) as gateway, http_front(gateway) as url:
        async with httpx2.AsyncClient() as http:

            async def post(body: dict[str, Any], headers: dict[str, str]) -> httpx2.Response:
                return await http.post(url, json={"jsonrpc": "2.0", "id": 1, **body}, headers=headers)

            discover = await post(
                {"method": "server/discover", "params": {"_meta": _envelope()}}, _headers("server/discover")
            )
            assert discover.status_code == 200 and "mcp-session-id" not in discover.headers
            result = discover.json()["result"]
            assert result["supportedVersions"] == ["2026-07-28"] and result["resultType"] == "complete"
            assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "switchyard"
            assert "tools" in result["capabilities"]

            listed = (
                await post({"method": "tools/list", "params": {"_meta": _envelope()}}, _headers("tools/list"))
            ).json()
            assert listed["result"]["cacheScope"] == "private" and listed["result"]["ttlMs"] == 0

            call = {"name": "legacy__echo", "arguments": {"text": "hi"}, "_meta": _envelope()}
            ok = await post({"method": "tools/call", "params": call}, _headers("tools/call", "legacy__echo"))
            assert ok.json()["result"]["content"][0]["text"] == "hi"
            assert ok.json()["result"]["resultType"] == "complete"

            wrong_name = await post({"method": "tools/call", "params": call}, _headers("tools/call", "other"))
            assert wrong_name.status_code == 400 and wrong_name.json()["error"]["code"] == -32020

            wrong_method = await post({"method": "tools/call", "params": call}, _headers("tools/list", "legacy__echo"))
            assert wrong_method.status_code == 400 and wrong_method.json()["error"]["code"] == -32020

            old = {
                "method": "tools/list",
                "params": {"_meta": _envelope(**{"io.modelcontextprotocol/protocolVersion": "1900-01-01"})},
            }
            unsupported = await post(old, _headers("tools/list", version="1900-01-01"))
            assert unsupported.status_code == 400
            assert unsupported.json()["error"]["code"] == -32022
            assert unsupported.json()["error"]["data"]["supported"] == ["2026-07-28"]

            no_caps = {
                "method": "tools/list",
                "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}},
            }
            missing = await post(no_caps, _headers("tools/list"))
            assert missing.status_code == 400 and missing.json()["error"]["code"] == -32602

            ping = await post({"method": "ping", "params": {"_meta": _envelope()}}, _headers("ping"))
            assert ping.status_code == 404 and ping.json()["error"]["code"] == -32601

            get = await http.get(url, headers={"Accept": "text/event-stream", "MCP-Protocol-Version": "2026-07-28"})
            assert get.status_code == 405


async def test_each_backend_is_spoken_to_in_the_era_it_negotiates() -> None:
    async with running_gateway(make_config(SERVERS)) as gateway:
        assert gateway.backends["time"].protocol_version == "2026-07-28"  # probed with server/discover
        assert gateway.backends["legacy"].protocol_version == "2025-11-25"  # refused the probe: initialize
        assert gateway.backends["time"].server_info["name"] == "mcp-time"
    pinned = make_config({"time": stdio_server(time_server_argv(), protocol="legacy")})
    async with running_gateway(pinned) as gateway:
        assert gateway.backends["time"].protocol_version == "2025-11-25"


async def test_a_modern_backend_slow_to_start_is_still_probed_into_its_era() -> None:
    """It answers `server/discover` only after the gateway also offered `initialize` (which it then refuses):
    the late answer wins, on the first attempt, instead of a failed start and a restart."""
    slow_argv = ["sh", "-c", f'sleep {DISCOVER_TIMEOUT + 1:g} && exec "$0" "$@"', *time_server_argv()]
    async with running_gateway(make_config({"time": stdio_server(slow_argv)})) as gateway:
        backend = gateway.backends["time"]
        assert (backend.protocol_version, backend.state, backend.restarts) == ("2026-07-28", State.UP, 0)
        assert "time__get_current_time" in {e.public_name for e in gateway.catalogue.tools}


@pytest.mark.parametrize("front", ["http", "stdio"])
async def test_a_modern_client_hears_list_changes_on_subscriptions_listen(front: str, tmp_path: Path) -> None:
    async def exercise(client: Client) -> None:
        async with client.listen(tools_list_changed=True, prompts_list_changed=True) as subscription:
            assert subscription.honored.tools_list_changed is True
            await client.call_tool("legacy__change_tools", {})
            with anyio.fail_after(10):
                async for _event in subscription:
                    break
        assert "legacy__dynamic_tool" in [t.name for t in (await client.list_tools()).tools]

    if front == "http":
        async with running_gateway(make_config(SERVERS)) as gateway, http_front(gateway) as url:
            async with Client(url, mode="2026-07-28") as client:
                await exercise(client)
    else:
        config = write_config(tmp_path / "switchyard.json", SERVERS)
        async with Client(gateway_stdio_params(config, tmp_path / "r.db"), mode="2026-07-28") as client:  # type: ignore[arg-type]
            await exercise(client)


async def test_an_old_client_over_the_legacy_http_sse_transport() -> None:
    from mcp.client.sse import sse_client

    async with running_gateway(make_config(SERVERS)) as gateway, http_front(gateway) as url:
        sse_url = url.removesuffix("/mcp") + "/sse"
        async with Client(sse_client(sse_url), mode="legacy") as client:
            assert client.protocol_version == "2025-11-25"
            names = [t.name for t in (await client.list_tools()).tools]
            assert "legacy__echo" in names and "time__convert_time" in names
            steps: list[float] = []

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                steps.append(value)

            result = await client.call_tool("legacy__progress", {"steps": 2}, progress_callback=on_progress)
            assert steps == [1, 2] and not result.is_error
        async with httpx2.AsyncClient() as http:
            lost = await http.post(url.removesuffix("/mcp") + "/messages?session_id=nope", json={"jsonrpc": "2.0"})
            assert lost.status_code == 404
