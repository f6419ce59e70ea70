"""Sessions, profiles' endpoints and the HTTP/stdio fronts' refusals, on the wire and in the audit log.

A session belongs to the principal (and profile) that opened it; to anyone else it looks like no session at
all. Malformed bodies, batches, foreign Hosts and Origins, bad protocol versions and oversized requests are
refused before anything runs, each with its precise audit reason.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import orjson
import psutil
import pytest

from switchyard.config import Config
from switchyard.front.http_request import new_session_id
from switchyard.front.stdio import serve_stdio
from switchyard.gateway import Gateway
from switchyard.registry import AuditRecord, Store
from tests.integration.harness import http_front, make_config, running_gateway, stdio_server, wait_for
from tests.support import faulty_argv

pytestmark = pytest.mark.integration

ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


def _echo(text: str, request_id: int = 3) -> dict[str, Any]:
    params = {"name": "srv__echo", "arguments": {"text": text}}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def _config(**extra: Any) -> Config:
    base = make_config({"srv": stdio_server(faulty_argv(), sessions="per-client")})
    return Config.model_validate({**base.model_dump(exclude={"source"}), **extra})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(str(tmp_path / "registry.db"))
    try:
        yield opened
    finally:
        await opened.close()


class World:
    """A gateway with API keys for alice (profile basic), bob (profile writer) and an unscoped admin."""

    def __init__(self, gateway: Gateway, store: Store, url: str, secrets: dict[str, str]) -> None:
        self.gateway = gateway
        self.store = store
        self.url = url
        self.secrets = secrets

    def headers(self, who: str, session: str | None = None) -> dict[str, str]:
        headers = {**ACCEPT, "Authorization": f"Bearer {self.secrets[who]}", "MCP-Protocol-Version": "2025-11-25"}
        return {**headers, "Mcp-Session-Id": session} if session else headers

    async def open_session(self, http: httpx2.AsyncClient, who: str, path: str = "") -> str:
        response = await http.post(self.url + path, json=INIT, headers=self.headers(who))
        assert response.status_code == 200, response.text
        session = response.headers["mcp-session-id"]
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (
            await http.post(self.url + path, json=initialized, headers=self.headers(who, session))
        ).status_code == 202
        return session

    async def refusals(self) -> list[AuditRecord]:
        await self.gateway.audit.flush()
        return [r for r in reversed(await self.store.list_audit(limit=1000)) if r.decision == "reject"]

    async def events(self) -> list[AuditRecord]:
        await self.gateway.audit.flush()
        return list(reversed(await self.store.list_audit(limit=1000)))


@contextlib.asynccontextmanager
async def world(store: Store, config: Config | None = None, **front: Any) -> AsyncIterator[World]:
    secrets = {
        "alice": (await store.create_api_key("alice", "basic", "client"))[1],
        "bob": (await store.create_api_key("bob", "writer", "client"))[1],
        "admin": (await store.create_api_key("admin", None, "admin"))[1],
    }
    config = config or _config(auth={"api_keys": True}, profiles={"basic": {}, "writer": {}})
    async with running_gateway(config, store) as gateway, http_front(gateway, **front) as url:
        yield World(gateway, store, url, secrets)


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


# -- sessions ----------------------------------------------------------------------------------------------


async def test_another_principals_session_id_is_not_found(store: Store) -> None:
    async with world(store) as w, httpx2.AsyncClient() as http:
        alice = await w.open_session(http, "alice")
        stolen = [
            await http.post(w.url, json=_echo("bob"), headers=w.headers("bob", alice)),
            await http.get(w.url, headers={**w.headers("bob", alice), "Accept": "text/event-stream"}),
            await http.delete(w.url, headers=w.headers("bob", alice)),
        ]
        unknown = await http.post(w.url, json=_echo("x"), headers=w.headers("bob", new_session_id()))
        assert [r.status_code for r in stolen] == [404, 404, 404] and unknown.status_code == 404
        assert stolen[0].json()["error"]["message"] == unknown.json()["error"]["message"]  # no existence oracle
        mine = await http.post(w.url, json=_echo("still mine"), headers=w.headers("alice", alice))
        assert mine.json()["result"]["content"][0]["text"] == "still mine"  # the DELETE had no effect
        reasons = [r.reason for r in await w.refusals()]
    assert reasons == ["session_principal_mismatch"] * 3 + ["unknown_session"]


async def test_a_session_id_is_not_a_credential(store: Store) -> None:
    async with world(store) as w, httpx2.AsyncClient() as http:
        alice = await w.open_session(http, "alice")
        bare = {**ACCEPT, "Mcp-Session-Id": alice}
        assert (await http.post(w.url, json=_echo("x"), headers=bare)).status_code == 401
        assert (await http.get(w.url, headers={**bare, "Accept": "text/event-stream"})).status_code == 401
        assert (await http.delete(w.url, headers=bare)).status_code == 401
        assert len(w.gateway.sessions) == 1
        assert [r.reason for r in await w.refusals()] == ["no_credentials"] * 3


def test_session_ids_are_random_visible_ascii_with_at_least_128_bits() -> None:
    ids = [new_session_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(len(i) >= 22 and all(0x21 <= ord(c) <= 0x7E for c in i) for i in ids)  # 22 base64 chars = 132 bits
    assert len({i[:4] for i in ids}) > 900  # no shared prefix or counter


async def test_delete_releases_the_stream_and_the_sessions_own_backend(store: Store) -> None:
    async with world(store) as w, httpx2.AsyncClient(timeout=10) as http:
        before = _children()
        alice = await w.open_session(http, "alice")
        assert (await http.post(w.url, json=_echo("hi"), headers=w.headers("alice", alice))).status_code == 200
        own_backend = _children() - before
        assert len(own_backend) >= 1  # `sessions: per-client`: a process for alice alone
        stream_closed = anyio.Event()

        async def hold_stream() -> None:
            headers = {**w.headers("alice", alice), "Accept": "text/event-stream"}
            async with http.stream("GET", w.url, headers=headers) as response:
                assert response.status_code == 200
                async for _ in response.aiter_bytes():
                    pass
            stream_closed.set()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(hold_stream)
            await anyio.sleep(0.2)
            assert (await http.delete(w.url, headers=w.headers("alice", alice))).status_code == 200
            with anyio.fail_after(5):
                await stream_closed.wait()
        assert (await http.post(w.url, json=_echo("x"), headers=w.headers("alice", alice))).status_code == 404
        get = await http.get(w.url, headers={**w.headers("alice", alice), "Accept": "text/event-stream"})
        assert get.status_code == 404
        await wait_for(lambda: not (own_backend & _children()), timeout=5)
        assert w.gateway.sessions == set()
        ended = [r for r in await w.events() if r.reason == "session_terminated"]
        assert [(r.decision, r.principal) for r in ended] == [("allow", "alice")] and ended[0].session != alice


async def test_idle_sessions_expire_after_the_configured_ttl(store: Store) -> None:
    async with world(store, idle_timeout=0.5) as w, httpx2.AsyncClient() as http:
        alice = await w.open_session(http, "alice")
        await anyio.sleep(1.6)
        assert (await http.post(w.url, json=_echo("x"), headers=w.headers("alice", alice))).status_code == 404
        assert "session_expired" in [r.reason for r in await w.events()]


async def test_legacy_sse_streams_need_credentials_and_belong_to_their_principal(store: Store) -> None:
    async with world(store) as w, httpx2.AsyncClient(timeout=10) as http:
        base = w.url.removesuffix("/mcp")
        assert (await http.get(f"{base}/sse")).status_code == 401
        auth = {"Authorization": f"Bearer {w.secrets['alice']}"}
        async with http.stream("GET", f"{base}/sse", headers=auth) as stream:
            lines = stream.aiter_lines()
            async for line in lines:
                if line.startswith("data:"):
                    endpoint = line[5:].strip()
                    break
            (served,) = w.gateway.sessions
            assert (served.client.principal, served.client.transport, served.client.profile) == (
                "alice",
                "sse",
                "basic",
            )
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            json_headers = {"Content-Type": "application/json"}
            bob = {**json_headers, "Authorization": f"Bearer {w.secrets['bob']}"}
            assert (await http.post(base + endpoint, json=ping, headers=bob)).status_code == 404
            assert (await http.post(base + endpoint, json=ping, headers=json_headers)).status_code == 401
            mine = await http.post(base + endpoint, json=ping, headers={**json_headers, **auth})
            assert mine.status_code == 202
            async for line in lines:
                if line.startswith("data:"):
                    assert json.loads(line[5:]) == {"jsonrpc": "2.0", "id": 1, "result": {}}
                    break
        reasons = [r.reason for r in await w.refusals()]
    assert reasons == ["no_credentials", "session_principal_mismatch", "no_credentials"]


# -- profiles' endpoints -----------------------------------------------------------------------------------


async def test_profile_endpoints_serve_the_named_profile_within_the_keys_scope(store: Store) -> None:
    async with world(store) as w, httpx2.AsyncClient() as http:
        await w.open_session(http, "alice")  # /mcp: her key's profile
        await w.open_session(http, "alice", "/basic")
        await w.open_session(http, "admin", "/writer")  # an unscoped key may pick any profile
        assert sorted((s.client.principal, s.client.profile, s.client.role) for s in w.gateway.sessions) == [
            ("admin", "writer", "admin"),
            ("alice", "basic", "client"),
            ("alice", "basic", "client"),
        ]
        other = await http.post(w.url + "/writer", json=INIT, headers=w.headers("alice"))
        missing = await http.post(w.url + "/nope", json=INIT, headers=w.headers("admin"))
        assert other.status_code == missing.status_code == 404 and other.content == missing.content
        assert [r.reason for r in await w.refusals()] == ["profile_not_allowed", "unknown_profile"]


async def test_a_session_opened_on_one_profile_is_not_found_on_another(store: Store) -> None:
    async with world(store) as w, httpx2.AsyncClient() as http:
        session = await w.open_session(http, "admin", "/basic")
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert (await http.post(w.url + "/writer", json=ping, headers=w.headers("admin", session))).status_code == 404
        assert (await http.post(w.url + "/basic", json=ping, headers=w.headers("admin", session))).status_code == 200


# -- malformed input ---------------------------------------------------------------------------------------


async def test_malformed_bodies_are_refused_with_the_right_error_and_id(store: Store) -> None:
    truncated = orjson.dumps(_echo("hi", 1))[:-3]
    bad_utf8 = orjson.dumps(_echo("http://x")).replace(b"http://x", b"http://x\xff\xfe")
    batch = b"[" + orjson.dumps(_echo("a", 1)) + b"," + orjson.dumps(_echo("b", 2)) + b"]"
    bodies: list[tuple[bytes, int, Any, str]] = [  # body, JSON-RPC code, id echoed, audit reason
        (truncated, -32700, None, "parse_error"),
        (bad_utf8, -32700, None, "parse_error"),
        (batch, -32600, None, "batch_not_supported"),
        (b"[]", -32600, None, "batch_not_supported"),
        (b"null", -32600, None, "invalid_request"),
        (b"42", -32600, None, "invalid_request"),
        (b'"x"', -32600, None, "invalid_request"),
        (b"", -32600, None, "invalid_request"),
        (b'{"jsonrpc":"1.0","id":1,"method":"ping"}', -32600, 1, "invalid_request"),
        (b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', -32600, None, "invalid_request"),
        (b'{"jsonrpc":"2.0","id":1,"method":42}', -32600, 1, "invalid_request"),
        (orjson.dumps({**_echo("x"), "id": None}), -32600, None, "invalid_request"),
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"srv__echo"}', -32602, 1, "invalid_params"),
    ]
    async with world(store) as w, httpx2.AsyncClient() as http:
        alice = await w.open_session(http, "alice")
        for body, code, request_id, _ in bodies:
            response = await http.post(w.url, content=body, headers=w.headers("alice", alice))
            assert response.status_code == 400, body
            error = response.json()
            assert (error["error"]["code"], error["id"]) == (code, request_id), body
        after = await http.post(w.url, json=_echo("hi"), headers=w.headers("alice", alice))
        assert after.json()["result"]["content"][0]["text"] == "hi"  # the session survived all of it
        refusals = await w.refusals()
        calls = [r for r in await w.events() if r.method == "tools/call" and r.decision != "reject"]
    assert [r.reason for r in refusals] == [reason for *_, reason in bodies]
    assert all(r.principal == "alice" and r.remote == "127.0.0.1" for r in refusals)
    assert len(calls) == 1  # only the valid call reached the pipeline: nothing in a batch ran


async def test_bad_protocol_versions_and_mismatched_headers_are_refused_before_dispatch(store: Store) -> None:
    modern_meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    async with world(store) as w, httpx2.AsyncClient() as http:
        alice = await w.open_session(http, "alice")
        listing = {"jsonrpc": "2.0", "id": 4, "method": "tools/list"}
        for version in ("1900-01-01", "not-a-version"):
            headers = {**w.headers("alice", alice), "MCP-Protocol-Version": version}
            refused = await http.post(w.url, json=listing, headers=headers)
            assert (
                refused.status_code == 400
                and refused.json()["error"]["data"]["reason"] == "unsupported_protocol_version"
            )
        modern = {**w.headers("alice"), "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}
        smuggled = _echo("x", 5)
        smuggled["params"]["_meta"] = modern_meta
        mismatch = await http.post(w.url, json=smuggled, headers=modern)
        assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020
        future = {**modern_meta, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}
        headers = {**modern, "MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"}
        unsupported = await http.post(w.url, json={**listing, "params": {"_meta": future}}, headers=headers)
        assert unsupported.status_code == 400 and unsupported.json()["error"]["code"] == -32022
        reasons = [r.reason for r in await w.refusals()]
        called = [r for r in await w.events() if r.method == "tools/call" and r.decision != "reject"]
    assert reasons == ["unsupported_protocol_version"] * 2 + ["header_mismatch", "unsupported_protocol_version"]
    assert called == []


async def test_foreign_origins_and_hosts_are_refused_before_anything_runs(store: Store) -> None:
    async with world(store) as w, httpx2.AsyncClient() as http:
        for headers in (w.headers("alice"), ACCEPT):
            evil = await http.post(w.url, json=INIT, headers={**headers, "Origin": "http://evil.example"})
            assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
        port = w.url.split(":")[2].split("/")[0]
        rebound = {"Host": f"rebind.evil.example:{port}", "Origin": f"http://rebind.evil.example:{port}"}
        assert (await http.post(w.url, json=INIT, headers={**w.headers("alice"), **rebound})).status_code == 421
        no_origin = {**w.headers("alice"), "Host": "rebind.evil.example"}
        assert (await http.post(w.url, json=INIT, headers=no_origin)).status_code == 421
        health = w.url.removesuffix("/mcp") + "/healthz"
        assert (await http.get(health, headers={"Host": "rebind.evil.example"})).status_code == 421
        assert w.gateway.sessions == set()
        assert (await http.post(w.url, json=INIT, headers=w.headers("alice"))).status_code == 200  # no Origin: fine
        refusals = await w.refusals()
    assert [r.reason for r in refusals] == ["forbidden_origin"] * 2 + ["forbidden_host"] * 3
    assert all(r.principal == "anonymous" for r in refusals)


# -- oversized requests ------------------------------------------------------------------------------------


async def test_oversized_bodies_are_refused_without_being_read(store: Store) -> None:
    config = _config(
        auth={"api_keys": True}, profiles={"basic": {}, "writer": {}}, gateway={"max_request_bytes": 65536}
    )
    async with world(store, config) as w, httpx2.AsyncClient(timeout=10) as http:
        alice = await w.open_session(http, "alice")
        headers = w.headers("alice", alice)
        declared = await http.post(w.url, json=_echo("x" * 200_000), headers=headers)
        assert declared.status_code == 413 and declared.json()["error"]["data"]["reason"] == "request_too_large"
        sent = 0

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal sent
            for _ in range(512):  # 32 MiB if it were all read
                sent += 65536
                yield b" " * 65536

        chunked = await http.post(w.url, content=chunks(), headers=headers)
        assert chunked.status_code == 413
        # A declared 32 MiB of which only 1 KiB ever comes: refused on the declaration, without waiting.
        host, port = "127.0.0.1", int(w.url.split(":")[2].split("/")[0])
        async with await anyio.connect_tcp(host, port) as stream:
            head = (
                f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Accept: application/json\r\nAuthorization: Bearer {w.secrets['alice']}\r\n"
                f"Mcp-Session-Id: {alice}\r\nContent-Length: 33554432\r\n\r\n"
            )
            await stream.send(head.encode() + b"{" * 1024)
            with anyio.fail_after(5):
                answer = await stream.receive()
            assert answer.startswith(b"HTTP/1.1 413")
        reasons = [r.reason for r in await w.refusals()]
    assert reasons == ["request_too_large"] * 3


async def test_a_rate_limited_call_answers_429_with_retry_after(store: Store) -> None:
    config = _config(auth={"api_keys": True}, profiles={"basic": {}, "writer": {}}, limits={"rate": 0.5, "burst": 1})
    async with world(store, config) as w, httpx2.AsyncClient() as http:
        alice = await w.open_session(http, "alice")
        first = await http.post(w.url, json=_echo("one"), headers=w.headers("alice", alice))
        second = await http.post(w.url, json=_echo("two"), headers=w.headers("alice", alice))
    assert first.status_code == 200 and first.json()["result"]["content"][0]["text"] == "one"
    assert second.status_code == 429 and int(second.headers["retry-after"]) >= 1
    assert second.json()["error"]["data"]["reason"] == "rate_limited"


# -- stdio -------------------------------------------------------------------------------------------------


async def test_stdio_refuses_bad_lines_once_each_and_reads_on(store: Store, tmp_path: Path) -> None:
    ping = b'{"jsonrpc":"2.0","id":4,"method":"ping"}\n'
    huge = {"jsonrpc": "2.0", "id": "big", "method": "ping", "params": {"pad": "x" * 200_000}}
    lines = [
        orjson.dumps(_echo("x")).replace(b'"x"', b'"x\xff\xfe"') + b"\n",
        b"[" + orjson.dumps(_echo("a", 1)) + b"]\n",
        b"[]\n",
        orjson.dumps(huge) + b"\n",
        ping,
    ]
    stdin = tmp_path / "stdin"
    stdin.write_bytes(b"".join(lines))
    stdout = tmp_path / "stdout"
    async with running_gateway(_config(gateway={"max_request_bytes": 65536}), store) as gateway:
        with stdin.open("rb") as source, stdout.open("wb") as sink:
            await serve_stdio(gateway, source, sink)
        await gateway.audit.flush()
        records = [r for r in reversed(await store.list_audit(limit=100)) if r.decision == "reject"]
    answers = [json.loads(line) for line in stdout.read_bytes().splitlines()]
    reasons = [a["error"]["data"]["reason"] if "error" in a else "ok" for a in answers]
    assert reasons == ["parse_error", "invalid_request", "invalid_request", "request_too_large", "ok"]
    assert answers[-1] == {"jsonrpc": "2.0", "id": 4, "result": {}}
    audited = ["parse_error", "batch_not_supported", "batch_not_supported", "request_too_large"]
    assert [r.reason for r in records] == audited
    assert all(r.transport == "stdio" for r in records)
