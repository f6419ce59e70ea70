"""Aggregation and routing: naming modes and collisions, pagination, allowlists, audit, and the traffic that
must pass through untouched (progress, cancellation, logging, list changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import MCPError

from switchyard.registry import Store
from tests.integration.harness import http_front, legacy_client, make_config, running_gateway, stdio_server
from tests.support import faulty_argv

pytestmark = pytest.mark.integration


def _two_faulty(**gateway: Any) -> Any:
    return make_config(
        {
            "alpha": stdio_server(faulty_argv("--name", "alpha")),
            "beta": stdio_server(faulty_argv("--name", "beta", "--tools", "2")),
        },
        **gateway,
    )


async def _names(url: str) -> list[str]:
    async with legacy_client(url) as client:
        return [t.name for t in (await client.list_tools()).tools]


async def test_prefix_naming_keeps_every_tool_apart() -> None:
    async with running_gateway(_two_faulty()) as gateway, http_front(gateway) as url:
        names = await _names(url)
        assert "alpha__echo" in names and "beta__echo" in names and "beta__tool_000" in names
        assert names == sorted(names), "deterministic order"
        async with legacy_client(url) as client:
            result = await client.call_tool("beta__add", {"a": 1, "b": 2})
            assert result.structured_content == {"sum": 3}


async def test_auto_naming_prefixes_only_what_collides() -> None:
    async with running_gateway(_two_faulty(naming="auto")) as gateway, http_front(gateway) as url:
        names = await _names(url)
        assert "alpha__echo" in names and "beta__echo" in names  # both servers have echo
        assert "tool_000" in names and "beta__tool_000" not in names  # only beta has it: original name
        assert [c.name for c in gateway.catalogue.collisions if c.name == "echo"] == ["echo"]


async def test_none_naming_keeps_original_names_and_reports_collisions() -> None:
    config = make_config({"only": stdio_server(faulty_argv())}, naming="none")
    async with running_gateway(config) as gateway, http_front(gateway) as url:
        async with legacy_client(url) as client:
            assert (await client.call_tool("echo", {"text": "plain"})).content[0].text == "plain"  # type: ignore[union-attr]
        assert gateway.catalogue.collisions == []
    async with running_gateway(_two_faulty(naming="none")) as gateway:
        assert {c.name for c in gateway.catalogue.collisions} >= {"echo", "add"}
        assert gateway.catalogue.tool("echo") is not None and gateway.catalogue.tool("echo").server == "alpha"  # type: ignore[union-attr]


async def test_long_names_are_cut_with_a_stable_hash() -> None:
    config = make_config(
        {"a-server-with-a-rather-long-name-indeed": stdio_server(faulty_argv("--tools", "1"))},
        max_name_length=24,
    )
    async with running_gateway(config) as gateway:
        names = [e.public_name for e in gateway.catalogue.tools]
        assert all(len(n) <= 24 for n in names)
        assert len(set(names)) == len(names)
    async with running_gateway(config) as again:
        assert [e.public_name for e in again.catalogue.tools] == names


async def test_aggregate_lists_are_paginated_with_opaque_cursors() -> None:
    async with running_gateway(_two_faulty(page_size=3)) as gateway, http_front(gateway) as url:
        async with legacy_client(url) as client:
            seen: list[str] = []
            cursor = None
            pages = 0
            while True:
                page = await client.list_tools(cursor=cursor) if cursor else await client.list_tools()
                assert len(page.tools) <= 3
                seen += [t.name for t in page.tools]
                pages += 1
                cursor = page.next_cursor
                if not cursor:
                    break
            assert pages > 1
            assert seen == [e.public_name for e in gateway.catalogue.tools]
            with pytest.raises(MCPError) as bad:
                await client.list_tools(cursor="not-a-cursor")
            assert bad.value.error.data["reason"] == "invalid_cursor"  # type: ignore[index]


async def test_denied_tools_are_invisible_and_refused_like_unknown_ones(tmp_path: Path) -> None:
    store = await Store.open(str(tmp_path / "registry.db"))
    try:
        config = _two_faulty(policies={"tools": {"deny": ["alpha:crash", "*:fail"]}, "servers": {"deny": ["beta"]}})
        async with running_gateway(config, store) as gateway, http_front(gateway) as url:
            async with legacy_client(url) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                assert "alpha__crash" not in names and "alpha__fail" not in names and "alpha__echo" in names
                assert not any(n.startswith("beta__") for n in names)
                errors = {}
                for name in ("alpha__crash", "beta__echo", "no_such_tool"):
                    with pytest.raises(MCPError) as refused:
                        await client.call_tool(name, {})
                    errors[name] = (
                        refused.value.error.code,
                        refused.value.error.data["reason"],
                        str(refused.value).replace(name, "X"),
                    )  # type: ignore[index]
                assert len(set(errors.values())) == 1, f"a denied tool must look exactly like an unknown one: {errors}"
                await client.call_tool("alpha__echo", {"text": "ok"})
            await gateway.audit.flush()
        records = await store.list_audit(limit=10)
        by_tool = {r.tool: r for r in records}
        assert by_tool["alpha__crash"].decision == "deny"
        # The client learns only not_allowed; the audit keeps the precise reason.
        assert by_tool["alpha__crash"].reason == "tool_denied"
        assert by_tool["beta__echo"].reason == "server_not_allowed"
        assert by_tool["no_such_tool"].reason == "unknown_tool"
        assert by_tool["alpha__echo"].decision == "allow" and by_tool["alpha__echo"].transport == "http"
        assert by_tool["alpha__echo"].duration_ms is not None
    finally:
        await store.close()


async def test_progress_logging_and_list_changed_pass_through() -> None:
    async with (
        running_gateway(make_config({"srv": stdio_server(faulty_argv())})) as gateway,
        http_front(gateway) as url,
    ):
        progress: list[float] = []
        logs: list[Any] = []
        changed = anyio.Event()

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        async def on_log(params: Any) -> None:
            logs.append(params.data)

        async def on_message(message: Any) -> None:
            if getattr(message, "method", None) == "notifications/tools/list_changed":
                changed.set()

        async with legacy_client(url, logging_callback=on_log, message_handler=on_message) as client:
            await client.call_tool("srv__progress", {"steps": 3}, progress_callback=on_progress)
            assert progress == [1, 2, 3]
            await client.call_tool("srv__log", {"message": "hello log", "level": "warning"})
            with anyio.fail_after(5):
                while "hello log" not in str(logs):
                    await anyio.sleep(0.02)
            await client.call_tool("srv__change_tools", {})
            with anyio.fail_after(5):
                await changed.wait()
            assert "srv__dynamic_tool" in [t.name for t in (await client.list_tools()).tools]


async def test_cancellation_reaches_the_backend_and_frees_the_call() -> None:
    async with (
        running_gateway(make_config({"srv": stdio_server(faulty_argv())})) as gateway,
        http_front(gateway) as url,
    ):
        async with legacy_client(url) as client:
            with anyio.move_on_after(0.5):
                await client.call_tool("srv__sleep", {"seconds": 30})
            # The gateway forgot the call, and the backend still answers others at once.
            with anyio.fail_after(3):
                assert (await client.call_tool("srv__echo", {"text": "next"})).content[0].text == "next"  # type: ignore[union-attr]


async def test_concurrent_clients_with_the_same_request_ids_get_their_own_answers() -> None:
    async with (
        running_gateway(make_config({"srv": stdio_server(faulty_argv())})) as gateway,
        http_front(gateway) as url,
    ):
        results: dict[int, str] = {}

        async def one(i: int) -> None:
            async with legacy_client(url) as client:
                for j in range(5):
                    result = await client.call_tool("srv__echo", {"text": f"{i}-{j}"})
                    results[i * 10 + j] = result.content[0].text  # type: ignore[union-attr]

        async with anyio.create_task_group() as tasks:
            for i in range(8):
                tasks.start_soon(one, i)
        assert results == {i * 10 + j: f"{i}-{j}" for i in range(8) for j in range(5)}


async def test_reconcile_starts_new_servers_and_stops_disabled_ones() -> None:
    async with running_gateway(
        make_config({"keep": stdio_server(faulty_argv()), "drop": stdio_server(faulty_argv())})
    ) as gateway:
        assert gateway.catalogue.tool("drop__echo") is not None
        gateway.reconcile(make_config({"keep": stdio_server(faulty_argv()), "new": stdio_server(faulty_argv())}))
        await gateway.wait_ready(30)
        assert set(gateway.backends) == {"keep", "new"}
        assert gateway.catalogue.tool("drop__echo") is None
        assert gateway.catalogue.tool("new__echo") is not None
        with anyio.fail_after(5):
            while gateway.backends["new"].state.value != "up":
                await anyio.sleep(0.05)
