"""protocol-abuse: SEC-PROTO-004, -005, -007."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from tests.security.conftest import Case
from tests.security.world import MCP_PATH, MODERN_PROTOCOL, PROTOCOL, Peer, World, assert_error, tool_text

CALLS_EACH = 200


def modern_headers(peer: Peer, message: dict[str, Any], version: str = MODERN_PROTOCOL, **extra: str) -> dict[str, str]:
    """H26(p): a stateless 2026-07-28 request with Mcp-Method/Mcp-Name mirrored from the body."""
    headers = peer.headers(session=False, version=version)
    headers["Mcp-Method"] = message["method"]
    name = (message.get("params") or {}).get("name")
    if name is not None:
        headers["Mcp-Name"] = name
    headers.update(extra)
    return headers


def modern_meta(version: str = MODERN_PROTOCOL) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }


def _echo(peer: Peer, era: str, request_id: int, text: str) -> tuple[int, Any, str]:
    params: dict[str, Any] = {"name": "echo__echo", "arguments": {"text": text}}
    if era == MODERN_PROTOCOL:
        params["_meta"] = modern_meta()
    message = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
    headers = modern_headers(peer, message) if era == MODERN_PROTOCOL else None
    reply = peer.post(message, headers=headers)
    answer = reply.message
    return request_id, answer.get("id"), tool_text(answer) if "result" in answer else json.dumps(answer)


@pytest.mark.case("SEC-PROTO-004")
@pytest.mark.parametrize("era", [PROTOCOL, MODERN_PROTOCOL])
def test_concurrent_clients_reusing_ids_get_only_their_own_replies(world: World, case: Case, era: str) -> None:
    case.bob_takes_part()
    alice, bob = world.fresh_peer("alice"), world.fresh_peer("bob", local_address="127.0.0.2")
    try:
        if era == PROTOCOL:
            alice.initialize()
            bob.initialize()
        upstream_before = len(world.calls_received("echo"))
        with ThreadPoolExecutor(8) as pool:
            jobs = [pool.submit(_echo, alice, era, i, f"A-{i}") for i in range(CALLS_EACH)]
            jobs += [pool.submit(_echo, bob, era, i, f"B-{i}") for i in range(CALLS_EACH)]
            results = [job.result() for job in jobs]
    finally:
        alice.close()
        bob.close()
    for index, (sent, answered, text) in enumerate(results):
        who = "A" if index < CALLS_EACH else "B"
        assert answered == sent and text == f"{who}-{sent}", f"{who} sent id {sent}, got id {answered}: {text}"
    upstream = world.calls_received("echo")[upstream_before:]
    ours = [call for call in upstream if str(call["params"]["arguments"].get("text", ""))[:2] in ("A-", "B-")]
    assert len(ours) == 2 * CALLS_EACH
    assert len({json.dumps(call["id"]) for call in ours}) == 2 * CALLS_EACH, "the gateway must re-map ids upstream"


MISMATCHES = {
    "case_method_header": ("tools/list", None),  # Mcp-Method says tools/list, the body calls admin_tools__delete_all
    "name_header": ("tools/call", "echo__echo"),  # Mcp-Name says echo__echo, the body names another tool
    "method_case": ("TOOLS/CALL", "admin_tools__delete_all"),
    "other_method": ("ping", None),
}


@pytest.mark.case("SEC-PROTO-005")
@pytest.mark.parametrize("method_header,name_header", MISMATCHES.values(), ids=MISMATCHES.keys())
def test_mcp_method_header_disagreeing_with_the_body_is_refused(
    world: World, case: Case, method_header: str, name_header: str | None
) -> None:
    alice = world.peer("alice")
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "admin_tools__delete_all", "arguments": {}, "_meta": modern_meta()},
    }
    headers = modern_headers(alice, message, **{"Mcp-Method": method_header})
    if name_header is not None:
        headers["Mcp-Name"] = name_header
    reply = alice.post(message, headers=headers)
    assert reply.status == 400
    assert_error(reply.message, "HEADER_MISMATCH")
    case.refused("header_mismatch")
    assert world.calls_received("admin_tools") == []


SESSION_VERSIONS = ["1900-01-01", "not-a-version", "2025-13-45", "2025-11-25,2026-07-28"]


@pytest.mark.case("SEC-PROTO-007")
@pytest.mark.parametrize("version", SESSION_VERSIONS)
def test_unsupported_protocol_version_on_a_session_is_refused(world: World, case: Case, version: str) -> None:
    alice = world.peer("alice")
    alice.initialize()
    reply = alice.rpc("tools/list", {}, headers=alice.headers(version=version))
    assert reply.status == 400
    assert_error(reply.message, "UNSUPPORTED_PROTOCOL_VERSION", alt=("INVALID_REQUEST",))
    case.refused("unsupported_protocol_version")


@pytest.mark.case("SEC-PROTO-007")
@pytest.mark.parametrize("version", ["2099-01-01", "2026-07-29", "1900-01-01"])
def test_unsupported_protocol_version_on_the_2026_path_names_the_supported_ones(
    world: World, case: Case, version: str
) -> None:
    alice = world.peer("alice")
    message = {"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": modern_meta(version)}}
    reply = alice.post(message, headers=modern_headers(alice, message, version=version))
    assert reply.status == 400
    assert_error(reply.message, "UNSUPPORTED_PROTOCOL_VERSION")
    data = reply.error["data"]
    assert data["requested"] == version
    assert MODERN_PROTOCOL in data["supported"]
    case.refused("unsupported_protocol_version")


@pytest.mark.case("SEC-PROTO-004")
def test_notifications_of_a_call_reach_only_its_session(world: World, case: Case) -> None:
    alice, listener = world.peer("alice"), world.fresh_peer("bob", local_address="127.0.0.2")
    alice.initialize()
    listener.initialize()
    heard: list[str] = []

    def listen() -> None:
        headers = {**listener.headers(), "Accept": "text/event-stream"}
        with contextlib.suppress(httpx2.HTTPError):
            with listener.client.stream("GET", MCP_PATH, headers=headers, timeout=3) as stream:
                for chunk in stream.iter_text():
                    heard.append(chunk)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(0.3)
    reply = alice.call(
        "evil__flood", {"count": 50}, headers=alice.headers(Accept="application/json, text/event-stream")
    )
    assert tool_text(reply.message) == "flooded"
    assert all(m.get("id") == reply.message["id"] or "method" in m for m in reply.messages)
    notes = [m for m in reply.messages if m.get("method") == "notifications/message"]
    assert len(notes) == 50, "the caller's own session receives its call's log notifications"
    thread.join(5)
    listener.close()
    assert "notifications/message" not in "".join(heard), "another session's log notifications reached bob"
