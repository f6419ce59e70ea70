"""The Streamable HTTP front at the wire level: sessions, status codes, DNS-rebinding defences, SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import orjson
import pytest

from tests.integration.harness import http_front, make_config, running_gateway, stdio_server
from tests.support import faulty_argv

pytestmark = pytest.mark.integration

ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with (
        running_gateway(make_config({"srv": stdio_server(faulty_argv())})) as gateway,
        http_front(gateway) as url,
    ):
        yield url


async def _open_session(http: httpx2.AsyncClient, url: str) -> str:
    response = await http.post(url, json=INIT, headers=ACCEPT)
    assert response.status_code == 200
    session_id = response.headers["mcp-session-id"]
    notified = await http.post(
        url,
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={**ACCEPT, "Mcp-Session-Id": session_id},
    )
    assert notified.status_code == 202 and notified.content == b""
    return session_id


def _sse_messages(body: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line[5:]) for line in body.splitlines() if line.startswith(b"data:") and line[5:].strip()]


async def test_sessions_are_random_required_and_end_with_delete(url: str) -> None:
    async with httpx2.AsyncClient() as http:
        first, second = await _open_session(http, url), await _open_session(http, url)
        assert first != second and len(first) >= 32 and all(0x21 <= ord(c) <= 0x7E for c in first)
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        missing = await http.post(url, json=ping, headers=ACCEPT)
        assert missing.status_code == 400 and "Mcp-Session-Id" in missing.json()["error"]["message"]
        unknown = await http.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": "nope"})
        assert unknown.status_code == 404
        ok = await http.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": first})
        assert ok.status_code == 200 and ok.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}
        assert (await http.delete(url, headers={"Mcp-Session-Id": first})).status_code == 200
        assert (await http.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": first})).status_code == 404
        assert (await http.post(url, json=ping, headers={**ACCEPT, "Mcp-Session-Id": second})).status_code == 200


async def test_malformed_input_gets_precise_errors_and_the_gateway_stays_up(url: str) -> None:
    async with httpx2.AsyncClient() as http:
        session = await _open_session(http, url)
        headers = {**ACCEPT, "Mcp-Session-Id": session}
        garbage = await http.post(url, content=b"{not json", headers=headers)
        assert garbage.status_code == 400 and garbage.json()["error"]["code"] == -32700
        batch = await http.post(url, content=b"[]", headers=headers)
        assert batch.status_code == 400 and batch.json()["error"]["data"]["reason"] == "invalid_request"
        no_method = await http.post(url, json={"jsonrpc": "2.0", "id": 5, "method": 7}, headers=headers)
        assert no_method.json()["error"]["code"] == -32600
        unknown = await http.post(url, json={"jsonrpc": "2.0", "id": 6, "method": "tools/frobnicate"}, headers=headers)
        assert unknown.json()["error"]["code"] == -32601 and "tools/frobnicate" in unknown.json()["error"]["message"]
        bad_args = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": 3}},
            headers=headers,
        )
        assert bad_args.json()["error"]["code"] == -32602 and '"name"' in bad_args.json()["error"]["message"]
        html = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 8, "method": "ping"},
            headers={**headers, "Accept": "text/html"},
        )
        assert html.status_code == 406
        version = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 9, "method": "ping"},
            headers={**headers, "MCP-Protocol-Version": "1999-01-01"},
        )
        assert version.status_code == 400
        still = await http.post(url, json={"jsonrpc": "2.0", "id": 10, "method": "ping"}, headers=headers)
        assert still.json()["result"] == {}


async def test_foreign_origin_and_host_are_refused_on_loopback(url: str) -> None:
    async with httpx2.AsyncClient() as http:
        evil_origin = await http.post(url, json=INIT, headers={**ACCEPT, "Origin": "http://evil.example"})
        assert evil_origin.status_code == 403
        evil_host = await http.post(url, json=INIT, headers={**ACCEPT, "Host": "evil.example"})
        assert evil_host.status_code == 421
        local_origin = await http.post(url, json=INIT, headers={**ACCEPT, "Origin": "http://localhost:6274"})
        assert local_origin.status_code == 200


async def test_a_call_with_progress_streams_sse_and_a_plain_call_gets_json(url: str) -> None:
    async with httpx2.AsyncClient() as http:
        session = await _open_session(http, url)
        headers = {**ACCEPT, "Mcp-Session-Id": session}
        plain = await http.post(
            url,
            json={
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "srv__echo", "arguments": {"text": "hi"}},
            },
            headers=headers,
        )
        assert plain.headers["content-type"].startswith("application/json")
        assert plain.json()["result"]["content"][0]["text"] == "hi"
        call = {"name": "srv__progress", "arguments": {"steps": 2}, "_meta": {"progressToken": "tok"}}
        streamed = await http.post(
            url, json={"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": call}, headers=headers
        )
        assert streamed.headers["content-type"].startswith("text/event-stream")
        messages = _sse_messages(streamed.content)
        assert [m["params"]["progressToken"] for m in messages[:-1]] == [
            "tok",
            "tok",
        ]  # the client's own token
        assert messages[-1]["id"] == 3 and "result" in messages[-1]


async def test_health_endpoints(url: str) -> None:
    base = url.removesuffix("/mcp")
    async with httpx2.AsyncClient() as http:
        assert (await http.get(f"{base}/healthz")).json() == {"status": "alive"}
        ready = (await http.get(f"{base}/readyz")).json()
        assert ready["status"] == "up" and ready["backends"][0]["name"] == "srv" and ready["backends"][0]["tools"] > 0


async def test_oversized_bodies_are_refused_and_idle_sessions_expire() -> None:
    config = make_config({"srv": stdio_server(faulty_argv())})
    async with running_gateway(config) as gateway, http_front(gateway, idle_timeout=0.5) as url:
        async with httpx2.AsyncClient() as http:
            session = await _open_session(http, url)
            headers = {**ACCEPT, "Mcp-Session-Id": session}
            arguments = {"text": "x" * 5_000_000}
            huge = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "srv__echo", "arguments": arguments},
            }
            refused = await http.post(url, json=huge, headers=headers)
            assert refused.status_code == 413 and refused.json()["error"]["data"]["reason"] == "request_too_large"
            ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
            assert (await http.post(url, json=ping, headers=headers)).status_code == 200
            await anyio.sleep(1.5)
            assert (await http.post(url, json=ping, headers=headers)).status_code == 404
            assert gateway.sessions == set()


async def test_a_dropped_sse_response_resumes_with_last_event_id(url: str) -> None:
    async with httpx2.AsyncClient() as http:
        session = await _open_session(http, url)
        headers = {**ACCEPT, "Mcp-Session-Id": session}
        call = {"name": "srv__progress", "arguments": {"steps": 3, "interval": 0.3}, "_meta": {"progressToken": 7}}
        body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": call}
        last_id = None
        async with http.stream("POST", url, json=body, headers=headers) as response:
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("retry:"):
                    assert int(line[6:]) > 0
                if line.startswith("id:"):
                    last_id = line[3:].strip()
                if line.startswith("data:") and line[5:].strip():
                    break  # got the first progress event: drop the connection
        assert last_id is not None and last_id.endswith("/1")
        resumed = await http.get(url, headers={**headers, "Accept": "text/event-stream", "Last-Event-ID": last_id})
        messages = _sse_messages(resumed.content)
        assert [m["params"]["progress"] for m in messages if m.get("method") == "notifications/progress"] == [2, 3]
        assert messages[-1]["id"] == 9 and "result" in messages[-1]
