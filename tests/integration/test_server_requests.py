"""Requests from a backend to the client (sampling, elicitation) reach the one client whose call caused them,
through the shared upstream session, and a client that did not declare the capability is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import psutil
import pytest
from mcp import MCPError

from tests.integration.harness import http_front, legacy_client, make_config, running_gateway, stdio_server
from tests.support import everything_argv

pytestmark = pytest.mark.integration


async def test_sampling_reaches_the_calling_client_and_only_it(node_fixtures: Path) -> None:
    asked: list[str] = []

    async def sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        asked.append(params.messages[0].content.text)  # type: ignore[union-attr]
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="sampled by the client"), model="test-model"
        )

    async def never(context: Any, params: Any) -> Any:
        raise AssertionError("the bystander must not be asked")

    async with running_gateway(make_config({"everything": stdio_server(everything_argv())})) as gateway:
        async with http_front(gateway) as url:
            async with (
                legacy_client(url, sampling_callback=sample) as caller,
                legacy_client(url, sampling_callback=never),
            ):
                result = await caller.call_tool(
                    "everything__trigger-sampling-request", {"prompt": "what is a switchyard?", "maxTokens": 20}
                )
                assert "sampled by the client" in str(result.content)
                assert asked and "what is a switchyard?" in asked[0]
            async with legacy_client(url) as incapable:
                # The backend's request is refused by the gateway; the tool reports the failure as its result.
                arguments = {"prompt": "x", "maxTokens": 5}
                try:
                    outcome = str(await incapable.call_tool("everything__trigger-sampling-request", arguments))
                except MCPError as exc:
                    outcome = str(exc)
                assert "does not support sampling/createMessage" in outcome


async def test_per_client_upstream_sessions_need_no_attribution(node_fixtures: Path) -> None:
    answers: dict[str, int] = {"first": 0, "second": 0}

    def sampler(who: str) -> Any:
        async def sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
            answers[who] += 1
            await anyio.sleep(0.2)  # both calls are in flight at once on the backend side
            return types.CreateMessageResult(
                role="assistant", content=types.TextContent(type="text", text=f"from {who}"), model="m"
            )

        return sample

    server = stdio_server(everything_argv(), sessions="per-client")
    async with running_gateway(make_config({"everything": server})) as gateway, http_front(gateway) as url:
        shared_pid_count = len(psutil.Process().children(recursive=True))
        async with (
            legacy_client(url, sampling_callback=sampler("first")) as first,
            legacy_client(url, sampling_callback=sampler("second")) as second,
        ):
            results: dict[str, str] = {}

            async def call(who: str, client: Any) -> None:
                result = await client.call_tool("everything__trigger-sampling-request", {"prompt": who, "maxTokens": 5})
                results[who] = str(result.content)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call, "first", first)
                tasks.start_soon(call, "second", second)
            assert "from first" in results["first"] and "from second" in results["second"]
            assert answers == {"first": 1, "second": 1}
            assert len(psutil.Process().children(recursive=True)) > shared_pid_count  # each has its own backend
        with anyio.fail_after(10):
            while len(psutil.Process().children(recursive=True)) > shared_pid_count:
                await anyio.sleep(0.1)  # and they end with their clients' sessions (DELETE)


async def test_a_client_that_never_answers_times_out_and_the_backend_lives_on(
    node_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from switchyard.front import session as session_module

    monkeypatch.setattr(session_module, "ASK_TIMEOUT", 0.5)

    async def silent(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async with running_gateway(make_config({"everything": stdio_server(everything_argv())})) as gateway:
        async with http_front(gateway) as url, legacy_client(url, sampling_callback=silent) as client:
            with anyio.fail_after(10):
                try:
                    outcome = str(await client.call_tool("everything__trigger-sampling-request", {"prompt": "x"}))
                except MCPError as exc:
                    outcome = str(exc)
            assert "did not answer sampling/createMessage" in outcome
            echoed = await client.call_tool("everything__echo", {"message": "still up"})
            assert "still up" in str(echoed.content)
        assert gateway.backends["everything"].restarts == 0
