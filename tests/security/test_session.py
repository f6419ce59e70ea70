"""session: SEC-SESS-001 (a stolen session id), -002 (a session id is not a credential), -004 (termination)."""

from __future__ import annotations

import math
import secrets
import subprocess
import sys
import threading
import time

import anyio
import httpx2
import pytest

from switchyard.registry import Store
from tests.security.conftest import Case
from tests.security.world import MCP_PATH, Peer, World, tool_text

FRESH_SESSIONS = 1000


def _on_session(peer: Peer, session: str, method: str) -> int:
    headers = peer.headers(session=False, **{"Mcp-Session-Id": session})
    if method == "GET":
        headers["Accept"] = "text/event-stream"
        return peer.request("GET", MCP_PATH, headers=headers, timeout=5).status
    if method == "DELETE":
        return peer.request("DELETE", MCP_PATH, headers=headers).status
    return peer.request(
        "POST",
        body={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "echo__echo", "arguments": {"text": "x"}},
        },
        headers=headers,
    ).status


@pytest.mark.case("SEC-SESS-001")
@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_another_principal_presenting_a_session_id_gets_404_like_an_unknown_one(
    world: World, case: Case, method: str
) -> None:
    alice = world.peer("alice")
    session = alice.initialize()
    thief = world.fresh_peer("bob", local_address="127.0.0.2")
    try:
        assert _on_session(thief, session, method) == 404
        assert _on_session(thief, secrets.token_hex(16), method) == 404
    finally:
        thief.close()
    assert tool_text(alice.call("echo__echo", {"text": "still mine"}).message) == "still mine"
    case.refused("session_principal_mismatch")
    case.refused("unknown_session", "session_not_found")


@pytest.mark.case("SEC-SESS-001")
def test_session_ids_are_unpredictable(world: World, case: Case) -> None:
    peer = world.fresh_peer("alice")
    ids = []
    try:
        for _ in range(FRESH_SESSIONS):
            ids.append(peer.initialize())
            assert peer.request("DELETE", MCP_PATH).status in (200, 204)
    finally:
        peer.close()
    assert len(set(ids)) == len(ids)
    assert all(all(0x21 <= ord(c) <= 0x7E for c in sid) for sid in ids)
    alphabet = set("".join(ids))
    assert min(map(len, ids)) * math.log2(len(alphabet)) >= 128, f"{len(alphabet)} symbols x {min(map(len, ids))}"
    shared = next((i for i, chars in enumerate(zip(*ids, strict=False)) if len(set(chars)) > 1), 0)
    assert shared <= 1, f"every id starts with the same {shared} characters"
    assert sorted(ids) != ids, "ids grow like a counter"


def _create_key(world: World, name: str, profile: str) -> tuple[str, str]:
    async def create() -> tuple[str, str]:
        store = await Store.open(str(world.registry))
        try:
            key, secret = await store.create_api_key(name, profile, "client")
            return key.key_id, secret
        finally:
            await store.close()

    return anyio.run(create)


def _initialize_once_the_key_is_known(peer: Peer) -> str:
    """A key created while the gateway runs is picked up within about a second."""
    deadline = time.monotonic() + 5
    while peer.rpc("ping").status == 401:
        assert time.monotonic() < deadline, "a new key was not accepted within 5 s"
        time.sleep(0.2)
    return peer.initialize()


def _revoke(world: World, key_id: str) -> None:
    argv = [sys.executable, "-m", "switchyard", "keys", "revoke", key_id]
    argv += ["-c", str(world.config_path), "--registry", str(world.registry)]
    done = subprocess.run(argv, env=world.environment(), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.case("SEC-SESS-002")
def test_a_session_id_without_a_valid_credential_is_refused(world: World, case: Case) -> None:
    # carol: the store keeps one active key per name, and alice's is the world's
    key_id, k1 = _create_key(world, "carol", "basic")
    world.keys["carol-k1"] = k1
    first = world.fresh_peer("carol", key=k1)
    session = _initialize_once_the_key_is_known(first)
    case.may_refuse("invalid_token", "missing_session_id")  # the probes while the gateway had not seen the key
    assert tool_text(first.call("echo__echo", {"text": "k1"}).message) == "k1"

    no_credential = Peer(world, "anonymous", None)
    no_credential.session = session
    assert no_credential.call("echo__echo", {"text": "x"}).status == 401
    case.refused("no_credentials")

    _revoke(world, key_id)
    deadline = time.monotonic() + 5
    while first.call("echo__echo", {"text": "x"}).status != 401:
        assert time.monotonic() < deadline, "a revoked key still works after 5 s"
        time.sleep(0.3)
    case.may_refuse("invalid_key", "revoked_key", "unknown_key", "invalid_token")

    _, k2 = _create_key(world, "carol", "basic")
    world.keys["carol-k2"] = k2
    second = world.fresh_peer("carol", key=k2)
    _initialize_once_the_key_is_known(second)
    second.session = session
    assert second.call("echo__echo", {"text": "x"}).status == 404, "revoking K1 must end the sessions it opened"
    case.may_refuse("unknown_session", "session_not_found", "session_principal_mismatch")
    for peer in (first, second, no_credential):
        peer.close()


@pytest.mark.case("SEC-SESS-004")
def test_delete_ends_the_session_and_its_stream(world: World, case: Case) -> None:
    alice = world.peer("alice")
    session = alice.initialize()
    ended = threading.Event()

    def listen() -> None:
        headers = {**alice.headers(), "Accept": "text/event-stream"}
        try:
            with httpx2.stream("GET", world.base_url + MCP_PATH, headers=headers, timeout=15) as stream:
                for _ in stream.iter_bytes():
                    pass
        except httpx2.HTTPError:
            pass
        ended.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.5)
    assert alice.request("DELETE", MCP_PATH).status in (200, 204)
    assert ended.wait(5), "the GET stream stayed open after DELETE"
    for method in ("POST", "GET", "DELETE"):
        assert _on_session(alice, session, method) == 404
    assert _on_session(alice, secrets.token_hex(16), "DELETE") == 404
    case.may_refuse("unknown_session", "session_not_found")


@pytest.mark.case("SEC-SESS-004")
def test_an_idle_session_expires(tmp_path_factory: pytest.TempPathFactory, world: World, case: Case) -> None:
    case.harness_load()
    idle = World(tmp_path_factory.mktemp("idle"), overrides={"gateway": {"http": {"session_idle_timeout": 2}}})
    try:
        idle.start()
        alice = idle.peer("alice")
        alice.initialize()
        assert tool_text(alice.call("echo__echo", {"text": "x"}).message) == "x"
        time.sleep(3.5)
        assert alice.call("echo__echo", {"text": "x"}).status == 404
    finally:
        idle.stop()


@pytest.mark.case("SEC-AUTH-001")
@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_no_credentials_get_401_in_api_key_mode(world: World, case: Case, method: str) -> None:
    anonymous = world.peer("anonymous")
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}},
    }
    headers = anonymous.headers(**({} if method == "POST" else {"Mcp-Session-Id": secrets.token_hex(16)}))
    reply = anonymous.request(method, MCP_PATH, body=init if method == "POST" else None, headers=headers, timeout=5)
    assert reply.status == 401
    assert reply.headers.get("www-authenticate", "").startswith("Bearer")
    assert "mcp-session-id" not in reply.headers
    case.refused("no_credentials")
