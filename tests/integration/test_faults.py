"""Backends that crash, hang, print garbage, start slowly or never start: the gateway answers with a clear
error, never hangs, stays up for everyone else, and restarts what died."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from mcp import MCPError

from switchyard.gateway import Gateway
from switchyard.upstream.backend import State
from tests.integration.harness import (
    call_tool,
    http_front,
    legacy_client,
    make_config,
    running_gateway,
    stdio_server,
    wait_for,
)
from tests.support import faulty_argv

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

FAST_RESTART = {"restart": {"initial_delay": 0.2, "max_delay": 0.5, "multiplier": 2}}


async def test_crash_mid_call_gives_an_error_then_the_backend_comes_back() -> None:
    config = make_config({"flaky": stdio_server(faulty_argv()), "steady": stdio_server(faulty_argv())}, **FAST_RESTART)
    async with running_gateway(config) as gateway:
        response = await call_tool(gateway, "flaky__crash")
        assert response["error"]["data"]["reason"] == "backend_crashed"
        assert "flaky" in response["error"]["message"] and "exited with code 3" in response["error"]["message"]
        # The other backend is untouched while this one restarts.
        assert (await call_tool(gateway, "steady__echo", {"text": "still here"}))["result"]["content"][0][
            "text"
        ] == "still here"
        backend = gateway.backends["flaky"]
        await wait_for(lambda: backend.state == State.UP and backend.restarts >= 1)
        assert gateway.catalogue.tool("flaky__echo") is not None, "tools come back after the restart"
        assert (await call_tool(gateway, "flaky__echo", {"text": "back"}))["result"]["content"][0]["text"] == "back"


async def test_a_backend_that_never_starts_is_reported_down() -> None:
    config = make_config({"dead": stdio_server(faulty_argv("--mode", "exit-immediately"))}, **FAST_RESTART)
    async with running_gateway(config) as gateway:
        await wait_for(lambda: gateway.backends["dead"].state == State.DOWN)
        response = await call_tool(gateway, "dead__echo")
        assert response["error"]["data"]["reason"] == "not_allowed"  # it never offered a tool
        readiness = gateway.readiness()
        assert readiness["status"] == "down"
        assert "exited with code 1" in (readiness["backends"][0]["lastError"] or "")


async def test_calls_to_a_backend_that_is_down_fail_fast_and_say_why() -> None:
    # A long back-off keeps the backend down after its crash while we call it.
    slow_restart = {"restart": {"initial_delay": 30, "max_delay": 30, "multiplier": 1}}
    async with running_gateway(make_config({"flaky": stdio_server(faulty_argv())}, **slow_restart)) as gateway:
        await call_tool(gateway, "flaky__crash")
        await wait_for(lambda: gateway.backends["flaky"].state == State.DOWN)
        started = time.monotonic()
        response = await call_tool(gateway, "flaky__echo", {"text": "anyone?"})
        assert time.monotonic() - started < 1
        assert response["error"]["data"]["reason"] == "backend_unavailable"
        assert "exited with code 3" in response["error"]["message"]
        assert "next restart in" in response["error"]["message"]
        assert gateway.catalogue.tool("flaky__echo") is None  # not listed while down


async def test_a_hanging_backend_times_out_with_a_gateway_error() -> None:
    server = stdio_server(faulty_argv("--mode", "hang-on-call"), timeout=0.5)
    async with running_gateway(make_config({"stuck": server})) as gateway:
        started = time.monotonic()
        response = await call_tool(gateway, "stuck__echo", {"text": "x"})
        assert response["error"]["data"]["reason"] == "backend_timeout"
        assert "stuck" in response["error"]["message"]
        assert time.monotonic() - started < 3
        assert gateway.backends["stuck"].state == State.UP  # a slow call does not kill the backend


async def test_garbage_on_stdout_is_skipped() -> None:
    async with running_gateway(
        make_config({"noisy": stdio_server(faulty_argv("--mode", "garbage-stdout"))})
    ) as gateway:
        response = await call_tool(gateway, "noisy__add", {"a": 2, "b": 3})
        assert response["result"]["structuredContent"] == {"sum": 5}


async def test_a_slow_start_is_waited_for_before_answering_initialize() -> None:
    server = stdio_server(faulty_argv("--mode", "slow-start", "--start-delay", "1.5"))
    config = make_config({"slow": server})
    gateway = Gateway(config)
    async with gateway.running(), http_front(gateway) as url, legacy_client(url) as client:
        tools = await client.list_tools()
        assert "slow__echo" in [t.name for t in tools.tools]


async def test_a_flood_of_notifications_does_not_block_the_answer() -> None:
    async with running_gateway(make_config({"loud": stdio_server(faulty_argv("--mode", "flood"))})) as gateway:
        with anyio.fail_after(10):
            response = await call_tool(gateway, "loud__echo", {"text": "heard"})
        assert response["result"]["content"][0]["text"] == "heard"


async def test_other_sessions_are_untouched_by_a_crash(tmp_path: Any) -> None:
    config = make_config({"flaky": stdio_server(faulty_argv()), "steady": stdio_server(faulty_argv())}, **FAST_RESTART)
    async with running_gateway(config) as gateway, http_front(gateway) as url:
        async with legacy_client(url) as first, legacy_client(url) as second:
            with pytest.raises(MCPError) as crashed:
                await first.call_tool("flaky__crash", {})
            assert "flaky" in str(crashed.value)
            result = await second.call_tool("steady__echo", {"text": "fine"})
            assert result.content[0].text == "fine"  # type: ignore[union-attr]
            assert (await first.call_tool("steady__echo", {"text": "me too"})).content[0].text == "me too"  # type: ignore[union-attr]


async def test_backend_stderr_is_logged_with_the_server_name(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="switchyard.backend")
    async with running_gateway(make_config({"chatty": stdio_server(faulty_argv())})):
        pass
    assert any(r.name == "switchyard.backend.chatty" and "faulty: started" in r.getMessage() for r in caplog.records)
