"""Tasks (2025-11-25): a task-augmented call returns a task whose id the gateway makes unique across backends;
tasks/get and tasks/result reach the backend that runs it, and only for the session that started it."""

from __future__ import annotations

from typing import Any

import pytest

from switchyard.front.session import Session
from switchyard.gateway import Gateway
from switchyard.pipeline import Client
from tests.integration.harness import make_config, running_gateway, stdio_server
from tests.support import faulty_argv

pytestmark = pytest.mark.integration


async def _request(session: Session, method: str, params: dict[str, Any]) -> dict[str, Any]:
    response = await session.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    assert response is not None
    return response


def _session(gateway: Gateway) -> Session:
    return Session(gateway, Client("test", "test"), lambda _: None)


async def test_tasks_are_routed_by_id_and_private_to_their_session() -> None:
    config = make_config({"a": stdio_server(faulty_argv()), "b": stdio_server(faulty_argv())})
    async with running_gateway(config) as gateway:
        assert "tasks" in gateway.capabilities()
        mine, theirs = _session(gateway), _session(gateway)
        started = {}
        for server in ("a", "b"):
            call = {"name": f"{server}__echo", "arguments": {"text": f"from {server}"}, "task": {"ttl": 60000}}
            started[server] = (await _request(mine, "tools/call", call))["result"]["task"]["taskId"]
        assert started == {"a": "a/task-1", "b": "b/task-1"}  # the same backend id, two distinct public ids

        status = (await _request(mine, "tasks/get", {"taskId": "b/task-1"}))["result"]
        assert status["taskId"] == "b/task-1" and status["status"] == "completed"
        result = (await _request(mine, "tasks/result", {"taskId": "a/task-1"}))["result"]
        assert result["content"][0]["text"] == "from a"

        stranger = await _request(theirs, "tasks/get", {"taskId": "a/task-1"})
        unknown = await _request(mine, "tasks/get", {"taskId": "a/task-99"})
        assert stranger["error"]["code"] == unknown["error"]["code"] == -32602
        assert stranger["error"]["message"].replace("a/task-1", "X") == unknown["error"]["message"].replace(
            "a/task-99", "X"
        )
        mine.close()
        theirs.close()
