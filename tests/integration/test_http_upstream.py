"""Streamable HTTP backends through the gateway's raw-JSON HTTP client (`switchyard.upstream.http_transport`):
the real npm server-everything (2025-11-25), the SDK-based dual-era conformance fixture in both eras, and a
scripted raw ASGI backend for what real servers do not do on demand (HTTP 500, refused connections, expired
sessions, aborted POSTs)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn

from switchyard.upstream.backend import State
from tests.integration.harness import call_tool, http_front, legacy_client, make_config, running_gateway, wait_for
from tests.support import FIXTURES_DIR, everything_argv, free_port, node_env

pytestmark = pytest.mark.integration

CONFORMANCE_SERVER = FIXTURES_DIR / "servers" / "conformance_server.py"
FAST_RESTART = {"restart": {"initial_delay": 0.1, "max_delay": 0.3, "multiplier": 2}}


# --- helpers ---------------------------------------------------------------------------------------------


def _wait_listening(port: int, proc: subprocess.Popen[bytes], path: str = "/") -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        with contextlib.suppress(httpx2.HTTPError):
            httpx2.get(f"http://127.0.0.1:{port}{path}", timeout=0.5)
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port}")


@contextlib.contextmanager
def _process(argv: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, proc)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def conformance_url() -> Iterator[str]:
    port = free_port()
    with _process([sys.executable, str(CONFORMANCE_SERVER), "--http", f"127.0.0.1:{port}"], port) as url:
        yield url


def _text(result: Any) -> str:
    return str(result.content[0].text)


# --- a scripted raw ASGI backend -------------------------------------------------------------------------

TOOLS = [
    {"name": name, "description": name, "inputSchema": {"type": "object"}} for name in ("ok", "boom", "slow", "sse")
]


class Scripted:
    """A minimal Streamable HTTP MCP server (raw ASGI), legacy or 2026-07-28, that records what it saw.

    Tools: `ok` (JSON answer), `sse` (SSE answer: priming event, a log notification, the response), `boom`
    (HTTP 500 with a text body), `slow` (never answers; records when the client closes the POST).
    Legacy sessions are checked strictly (session id and MCP-Protocol-Version on every later request), and
    2026-07-28 requests must mirror MCP-Protocol-Version, Mcp-Method and Mcp-Name.
    """

    def __init__(self, *, modern: bool = False) -> None:
        self.modern = modern
        self.posts: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.deletes: list[dict[str, str]] = []
        self.aborted: list[Any] = []  # ids of requests whose POST the client closed before an answer
        self.sessions: set[str] = set()
        self.initializes = 0

    def methods(self) -> list[str]:
        return [body.get("method", "<response>") for body, _ in self.posts]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if scope["method"] == "DELETE":
            self.deletes.append(headers)
            self.sessions.discard(headers.get("mcp-session-id", ""))
            return await _respond(send, 200, b"")
        if scope["method"] != "POST":
            return await _respond(send, 405, b"Method Not Allowed", "text/plain")
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        message = json.loads(body)
        self.posts.append((message, headers))
        method = message.get("method")
        problem = self._check(message, headers)
        if problem is not None:
            status, text = problem
            error = {"jsonrpc": "2.0", "id": message.get("id"), "error": {"code": -32600, "message": text}}
            return await _respond(send, status, json.dumps(error).encode())
        if "id" not in message:
            return await _respond(send, 202, b"")
        answer = self._answer(message)
        if method == "tools/call" and message["params"]["name"] == "boom":
            return await _respond(send, 500, b"kaboom: the backend fell over", "text/plain")
        if method == "tools/call" and message["params"]["name"] == "slow":
            while (await receive())["type"] != "http.disconnect":
                pass
            self.aborted.append(message["id"])
            return None
        extra: list[tuple[bytes, bytes]] = []
        if method == "initialize":
            self.initializes += 1
            session = f"s-{self.initializes}"
            self.sessions.add(session)
            extra.append((b"mcp-session-id", session.encode()))
        if method == "tools/call" and message["params"]["name"] == "sse":
            note = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hi"}}
            chunks = [b"id: 1\ndata:\n\n", b"event: message\ndata: " + json.dumps(note).encode() + b"\n\n"]
            chunks.append(b"id: 2\ndata: " + json.dumps(answer).encode() + b"\n\n")
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
            )
            for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            return await send({"type": "http.response.body", "body": b""})
        return await _respond(send, 200, json.dumps(answer).encode(), extra=extra)

    def _check(self, message: dict[str, Any], headers: dict[str, str]) -> tuple[int, str] | None:
        method = message.get("method")
        if self.modern:
            if method in ("initialize", "notifications/initialized", "notifications/cancelled"):
                return 404, f"{method} does not exist in 2026-07-28"
            if headers.get("mcp-protocol-version") != "2026-07-28" or headers.get("mcp-method") != method:
                return 400, "header mismatch"
            if method == "tools/call" and headers.get("mcp-name") != message["params"]["name"]:
                return 400, "header mismatch"
            if "mcp-session-id" in headers:
                return 400, "no sessions in 2026-07-28"
            return None
        if method == "server/discover":
            return 400, "Bad Request: no valid session ID provided"
        if method == "initialize":
            return None
        if headers.get("mcp-session-id") not in self.sessions:
            return 404, "Session not found"
        if headers.get("mcp-protocol-version") != "2025-11-25":
            return 400, "bad MCP-Protocol-Version"
        return None

    def _answer(self, message: dict[str, Any]) -> dict[str, Any]:
        method = message["method"]
        result: dict[str, Any]
        if method == "initialize":
            info = {"name": "scripted", "version": "1"}
            result = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": info}
        elif method == "server/discover":
            result = {"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}, "resultType": "complete"}
        elif method == "tools/list":
            result = {"tools": TOOLS}
        elif method == "tools/call":
            result = {"content": [{"type": "text", "text": f"{message['params']['name']} done"}]}
        else:
            result = {}
        return {"jsonrpc": "2.0", "id": message["id"], "result": result}


async def _respond(
    send: Any,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type.encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def _serving(app: Scripted) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        await wait_for(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/mcp", server
        server.should_exit = True


def _http(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "http", "url": url, **extra}


# --- real servers ----------------------------------------------------------------------------------------


async def test_server_everything_over_streamable_http(node_fixtures: Path) -> None:
    port = free_port()
    with _process(everything_argv("streamableHttp"), port, env=node_env({"PORT": str(port)})) as url:
        async with running_gateway(make_config({"remote": _http(url)})) as gateway, http_front(gateway) as front:
            backend = gateway.backends["remote"]
            assert backend.state == State.UP, backend.last_error
            assert backend.protocol_version == "2025-11-25"
            async with legacy_client(front) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                assert {"remote__echo", "remote__get-sum", "remote__trigger-long-running-operation"} <= set(names)
                assert "42" in _text(await client.call_tool("remote__get-sum", {"a": 20, "b": 22}))
                steps: list[float] = []

                async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                    steps.append(progress)

                result = await client.call_tool(
                    "remote__trigger-long-running-operation",
                    {"duration": 0.3, "steps": 3},
                    progress_callback=on_progress,
                )
                assert "completed" in _text(result).lower()
                assert steps == [1, 2, 3]
                # Requests multiplex over the one connection.
                echoes = [""] * 8

                async def echo(i: int) -> None:
                    echoes[i] = _text(await client.call_tool("remote__echo", {"message": f"m{i}"}))

                async with anyio.create_task_group() as tasks:
                    for i in range(len(echoes)):
                        tasks.start_soon(echo, i)
                assert all(f"m{i}" in text for i, text in enumerate(echoes))


@pytest.mark.parametrize(("protocol", "expected"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_dual_era_sdk_server_in_each_era(conformance_url: str, protocol: str, expected: str) -> None:
    # The SDK server rejects a 2026-07-28 request whose mirrored headers are missing or wrong, so every
    # passing call in the modern case proves the headers were sent.
    config = make_config({"conf": _http(conformance_url, protocol=protocol)})
    async with running_gateway(config) as gateway, http_front(gateway) as front:
        backend = gateway.backends["conf"]
        assert backend.state == State.UP, backend.last_error
        assert backend.protocol_version == expected
        logs: list[Any] = []

        async def on_log(params: Any) -> None:
            logs.append(params.data)

        async with legacy_client(front, logging_callback=on_log) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            assert {"conf__test_simple_text", "conf__test_tool_with_progress"} <= set(names)
            assert _text(await client.call_tool("conf__test_simple_text", {}))
            steps: list[float] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                steps.append(progress)

            await client.call_tool("conf__test_tool_with_progress", {}, progress_callback=on_progress)
            assert steps == [0, 50, 100]
            # A 2026-07-28 server also insists on the `Mcp-Param-*` headers of `x-mcp-header` arguments (learnt
            # from the backend's tools/list); a non-ASCII value travels base64-wrapped.
            for region in ("eu-west", "Zürich"):
                assert (
                    _text(await client.call_tool("conf__test_x_mcp_header", {"region": region})) == f"region={region}"
                )
            result = await client.call_tool("conf__test_tool_with_logging", {})
            assert "successfully" in _text(result)
            if protocol == "legacy":
                assert len(logs) == 3  # relayed from the POST's SSE stream
                # The fixture closes the POST's SSE stream mid-call; the call resumes with Last-Event-ID.
                resumed = await client.call_tool("conf__test_reconnection", {})
                assert _text(resumed) == "Reconnection test completed"


async def test_sdk_server_error_and_unknown_tool_pass_through(conformance_url: str) -> None:
    async with running_gateway(make_config({"conf": _http(conformance_url)})) as gateway:
        response = await call_tool(gateway, "conf__test_error_handling")
        assert response["result"]["isError"] is True


# --- failures give clear errors, never a hang ------------------------------------------------------------


async def test_an_http_500_becomes_a_clear_error_for_that_call_only() -> None:
    app = Scripted()
    async with _serving(app) as (url, _), running_gateway(make_config({"s": _http(url)})) as gateway:
        assert gateway.backends["s"].state == State.UP, gateway.backends["s"].last_error
        with anyio.fail_after(5):
            response = await call_tool(gateway, "s__boom")
        error = response["error"]
        assert "HTTP 500" in error["message"] and "kaboom" in error["message"], error
        assert error["data"]["reason"] == "backend_unavailable"
        # The connection is still good for the next call.
        assert (await call_tool(gateway, "s__ok"))["result"]["content"][0]["text"] == "ok done"


async def test_legacy_session_headers_sse_answers_and_delete_on_close() -> None:
    app = Scripted()
    async with _serving(app) as (url, _):
        async with running_gateway(make_config({"s": _http(url, headers={"X-Api-Key": "k"})})) as gateway:
            assert (await call_tool(gateway, "s__sse"))["result"]["content"][0]["text"] == "sse done"
            assert (await call_tool(gateway, "s__ok"))["result"]["content"][0]["text"] == "ok done"
        assert app.methods()[:4] == ["server/discover", "initialize", "notifications/initialized", "tools/list"]
        for body, headers in app.posts:
            assert headers["accept"] == "application/json, text/event-stream"
            assert headers["content-type"] == "application/json" and headers["x-api-key"] == "k"
            if body.get("method") == "server/discover":  # the era probe is a 2026-07-28 request
                assert headers["mcp-protocol-version"] == "2026-07-28" and headers["mcp-method"] == "server/discover"
                assert "mcp-session-id" not in headers
            elif body.get("method") == "initialize":
                assert "mcp-session-id" not in headers and "mcp-protocol-version" not in headers
            else:
                assert headers["mcp-session-id"] == "s-1" and headers["mcp-protocol-version"] == "2025-11-25"
        assert [d.get("mcp-session-id") for d in app.deletes] == ["s-1"]


async def test_an_expired_session_reconnects_the_backend() -> None:
    app = Scripted()
    async with _serving(app) as (url, _), running_gateway(make_config({"s": _http(url)}, **FAST_RESTART)) as gateway:
        backend = gateway.backends["s"]
        app.sessions.clear()  # the server restarted and forgot every session
        with anyio.fail_after(5):
            response = await call_tool(gateway, "s__ok")
        assert "session expired" in response["error"]["message"], response
        await wait_for(lambda: backend.state == State.UP and backend.restarts >= 1)
        assert app.initializes == 2
        assert (await call_tool(gateway, "s__ok"))["result"]["content"][0]["text"] == "ok done"


async def test_a_backend_that_goes_away_fails_calls_at_once_and_is_reported_down() -> None:
    app = Scripted()
    slow_restart = {"restart": {"initial_delay": 30, "max_delay": 30, "multiplier": 1}}
    async with running_gateway(make_config({"s": _http("http://127.0.0.1:1/mcp")}, **FAST_RESTART)) as gateway:
        backend = gateway.backends["s"]
        await wait_for(lambda: backend.state == State.DOWN)
        assert "cannot reach backend 's'" in (backend.last_error or ""), backend.last_error
    async with _serving(app) as (url, server):
        async with running_gateway(make_config({"s": _http(url)}, **slow_restart)) as gateway:
            backend = gateway.backends["s"]
            assert backend.state == State.UP
            server.should_exit = True
            await wait_for(lambda: not server.started or server.should_exit)
            await anyio.sleep(0.3)
            with anyio.fail_after(5):
                response = await call_tool(gateway, "s__ok")
            assert "error" in response, response
            assert "cannot reach backend 's'" in response["error"]["message"], response
            await wait_for(lambda: backend.state == State.DOWN)


# --- cancellation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("modern", [False, True])
async def test_a_timed_out_call_is_cancelled_in_the_backends_era(modern: bool) -> None:
    app = Scripted(modern=modern)
    async with _serving(app) as (url, _), running_gateway(make_config({"s": _http(url, timeout=0.5)})) as gateway:
        backend = gateway.backends["s"]
        assert backend.protocol_version == ("2026-07-28" if modern else "2025-11-25")
        with anyio.fail_after(5):
            response = await call_tool(gateway, "s__slow")
        assert response["error"]["data"]["reason"] == "backend_timeout"
        slow_id = next(body["id"] for body, _ in app.posts if body.get("params", {}).get("name") == "slow")
        # Both eras stop reading the POST; only 2025-11-25 also sends the notification.
        await wait_for(lambda: slow_id in app.aborted)
        cancels = [body for body, _ in app.posts if body.get("method") == "notifications/cancelled"]
        if modern:
            assert cancels == []
        else:
            assert [c["params"]["requestId"] for c in cancels] == [slow_id]
        assert (await call_tool(gateway, "s__ok"))["result"]["content"][0]["text"] == "ok done"
