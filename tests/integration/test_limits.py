"""Limits through a running gateway and real backends: rate, in-flight, deadlines, response size, breakers."""

from __future__ import annotations

import contextlib
import functools
import json
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import psutil
import pytest
import uvicorn

from switchyard.config import Config
from switchyard.front.session import Session
from switchyard.gateway import Gateway
from switchyard.pipeline import Client
from switchyard.upstream.backend import State
from tests.integration.harness import running_gateway, stdio_server, wait_for
from tests.support import faulty_argv

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


def _config(servers: dict[str, Any], **sections: Any) -> Config:
    return Config.model_validate({"mcpServers": servers, "search": {"mode": "all"}, **sections})


async def _call(
    gateway: Gateway, name: str, arguments: dict[str, Any] | None = None, *, session: Session | None = None
) -> dict[str, Any]:
    own = session is None
    session = session or Session(gateway, Client("alice", "test"), lambda message: None)
    try:
        request = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        response = await session.handle(request)
    finally:
        if own:
            session.close()
    assert response is not None
    return response


def _reason(response: dict[str, Any]) -> str | None:
    return response.get("error", {}).get("data", {}).get("reason")


async def test_the_rate_limit_is_per_principal_across_sessions() -> None:
    config = _config({"echo": stdio_server(faulty_argv())}, limits={"rate": 2, "burst": 4})
    async with running_gateway(config) as gateway:
        reasons = []
        for i in range(6):  # over three sessions of the same principal
            session = Session(gateway, Client("alice", "http", f"s{i % 3}"), lambda message: None)
            reasons.append(_reason(await _call(gateway, "echo__echo", {"text": "x"}, session=session)))
            session.close()
        assert reasons[:4] == [None] * 4 and reasons[4:] == ["rate_limited"] * 2
        refused = await _call(gateway, "echo__echo", {"text": "x"})
        assert refused["error"]["code"] == -31006
        assert 0 < refused["error"]["data"]["retry_after_ms"] <= 500
        assert refused["error"]["data"]["request_id"] == 1
        bob = Session(gateway, Client("bob", "http"), lambda message: None)
        assert "result" in await _call(gateway, "echo__echo", {"text": "x"}, session=bob)  # not limited
        bob.close()
        await anyio.sleep(0.6)
        assert "result" in await _call(gateway, "echo__echo", {"text": "x"})  # tokens come back


async def test_in_flight_calls_are_capped_per_session() -> None:
    config = _config({"slow": stdio_server(faulty_argv())}, limits={"max_inflight_per_session": 1})
    async with running_gateway(config) as gateway:
        session = Session(gateway, Client("alice", "http", "s1"), lambda message: None)
        answers: list[dict[str, Any]] = []

        async def sleep() -> None:
            answers.append(await _call(gateway, "slow__sleep", {"seconds": 0.5}, session=session))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sleep)
            await anyio.sleep(0.1)
            second = await _call(gateway, "slow__echo", {"text": "x"}, session=session)
        assert _reason(second) == "too_many_inflight" and second["error"]["data"]["limit"] == 1
        assert "result" in answers[0]
        assert "result" in await _call(gateway, "slow__echo", {"text": "x"}, session=session)  # freed
        session.close()


async def test_a_call_deadline_cancels_the_call() -> None:
    config = _config({"slow": stdio_server(faulty_argv())}, limits={"call_timeout_s": 0.3})
    async with running_gateway(config) as gateway:
        started = time.monotonic()
        response = await _call(gateway, "slow__sleep", {"seconds": 10})
        assert _reason(response) == "backend_timeout" and time.monotonic() - started < 2
        assert "result" in await _call(gateway, "slow__echo", {"text": "still fine"})


async def test_an_oversized_stdio_message_drops_the_connection_and_the_backend_comes_back() -> None:
    config = _config(
        {"big": stdio_server(faulty_argv())},
        limits={"max_response_bytes": MIB},
        gateway={"restart": {"initial_delay": 0.1, "max_delay": 0.2}},
    )
    async with running_gateway(config) as gateway:
        response = await _call(gateway, "big__echo", {"text": "x" * (2 * MIB)})
        assert _reason(response) == "response_too_large"
        assert response["error"]["data"]["limit_bytes"] == MIB
        backend = gateway.backends["big"]
        await wait_for(lambda: backend.state == State.UP and backend.restarts >= 1)
        assert "result" in await _call(gateway, "big__echo", {"text": "x" * 1000})


async def test_repeated_crashes_open_the_circuit_then_a_probe_closes_it() -> None:
    config = _config(
        {"evil": stdio_server(faulty_argv())},
        limits={"circuit_failures": 2, "circuit_cooldown_s": 1},
        gateway={"restart": {"initial_delay": 0.1, "max_delay": 0.2}},
    )
    async with running_gateway(config) as gateway:
        backend = gateway.backends["evil"]
        for _ in range(2):
            await wait_for(lambda: backend.state == State.UP)
            started = time.monotonic()
            response = await _call(gateway, "evil__crash")
            assert _reason(response) == "backend_crashed" and time.monotonic() - started < 1
        started = time.monotonic()
        response = await _call(gateway, "evil__echo", {"text": "x"})
        assert time.monotonic() - started < 0.01
        assert _reason(response) == "circuit_open" and response["error"]["data"]["retry_after_ms"] > 0
        status = next(b for b in gateway.readiness()["backends"] if b["name"] == "evil")
        assert status["circuit"]["state"] == "open" and status["circuit"]["trips"] == 1
        await wait_for(lambda: backend.state == State.UP)
        await anyio.sleep(1.0)
        assert "result" in await _call(gateway, "evil__echo", {"text": "probe"})
        assert backend.breaker is not None and backend.breaker.status()["state"] == "closed"


# -- HTTP responses over the size limit


class Oversized:
    """A Streamable HTTP backend (2025-11-25, stateless) whose tools answer with too much: a big JSON body,
    a gzip bomb, an SSE event that never ends; `ok` answers normally."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["method"] != "POST":
            return await self._send(send, 405, b"", "text/plain")
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        message = json.loads(body)
        if "id" not in message:
            return await self._send(send, 202, b"")
        method, request_id = message["method"], message["id"]
        if method == "server/discover":
            return await self._send(send, 400, b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no"}}')
        if method == "initialize":
            result: dict[str, Any] = {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "oversized", "version": "1"},
            }
        elif method == "tools/list":
            names = ("ok", "big", "bomb", "endless")
            result = {"tools": [{"name": n, "inputSchema": {"type": "object"}} for n in names]}
        else:
            name = message["params"]["name"]
            if name == "big":
                text = "x" * (4 * MIB)
                return await self._send(send, 200, _response(request_id, text))
            if name == "bomb":
                return await self._send(send, 200, _gzip_bomb(64), extra=[(b"content-encoding", b"gzip")])
            if name == "endless":
                await send(
                    {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
                )
                await send({"type": "http.response.body", "body": b"event: message\ndata: ", "more_body": True})
                with contextlib.suppress(Exception):
                    for _ in range(64):
                        await send({"type": "http.response.body", "body": b"y" * (256 * 1024), "more_body": True})
                return None
            result = {"content": [{"type": "text", "text": "ok"}]}
        return await self._send(send, 200, json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}).encode())

    @staticmethod
    async def _send(
        send: Any, status: int, body: bytes, content_type: str = "application/json", extra: list[Any] | None = None
    ) -> None:
        headers = [(b"content-type", content_type.encode()), *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _response(request_id: Any, text: str) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": text}]}}
    ).encode()


@functools.cache
def _gzip_bomb(inflated_mib: int) -> bytes:
    """A JSON body of `inflated_mib` MiB, mostly one repeated byte, gzip-compressed to about 1/1000 of that."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b'{"jsonrpc":"2.0","id":2,"result":{"t":"')]
    block = b"z" * MIB
    parts += [packer.compress(block) for _ in range(inflated_mib)]
    parts.append(packer.compress(b'"}}') + packer.flush())
    return b"".join(parts)


@contextlib.asynccontextmanager
async def _serving(app: Any) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False)
    )
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        await wait_for(lambda: server.started)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/mcp"
        server.should_exit = True


@pytest.mark.parametrize("tool", ["big", "bomb", "endless"])
async def test_an_oversized_http_answer_is_refused_with_bounded_memory(tool: str) -> None:
    async with _serving(Oversized()) as url:
        config = _config({"web": {"type": "http", "url": url}}, limits={"max_response_bytes": MIB})
        async with running_gateway(config) as gateway:
            rss = psutil.Process().memory_info().rss
            with anyio.fail_after(10):
                response = await _call(gateway, f"web__{tool}")
            assert _reason(response) == "response_too_large", response
            assert psutil.Process().memory_info().rss - rss < 64 * MIB
            assert (await _call(gateway, "web__ok"))["result"]["content"][0]["text"] == "ok"
