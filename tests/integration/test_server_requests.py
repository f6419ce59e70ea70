"""Requests from a backend to the client (sampling, elicitation) reach the one client whose call caused them,
through the shared upstream session, and a client that did not declare the capability is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mcp_types as types
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
