"""dns-rebinding/origin: SEC-ORIG-001 (cross-site Origin) and SEC-ORIG-002 (Host rebinding, with auth and without)."""

from __future__ import annotations

import pytest

from tests.security.conftest import Case
from tests.security.world import MCP_PATH, Peer, World

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}},
}
CALL = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo__echo", "arguments": {"text": "o"}}}


def _send(peer: Peer, what: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    if what == "get_stream":
        reply = peer.request("GET", MCP_PATH, headers={**headers, "Accept": "text/event-stream"}, timeout=5)
    else:
        reply = peer.post(INIT if what == "initialize" else CALL, headers=headers)
    return reply.status, {k.lower(): v for k, v in reply.headers.items()}


ORIGINS = [
    "http://evil.example",
    # unseen variants of the same class
    "null",
    "http://127.0.0.1.evil.example",
    "https://127.0.0.1",
    "http://localhost.evil.example",
]


@pytest.mark.case("SEC-ORIG-001")
@pytest.mark.parametrize("origin", ORIGINS)
def test_a_cross_site_origin_is_refused_before_anything_runs(world: World, case: Case, origin: str) -> None:
    origin = origin if origin == "null" or origin.count(":") > 1 else f"{origin}:{world.port}"
    world.peer("alice").initialize()
    before = len(world.received("echo"))
    for credential in ("alice", "anonymous"):
        peer = world.peer(credential)
        peer.session = world.peer("alice").session
        for what in ("initialize", "tools_call", "get_stream"):
            status, headers = _send(peer, what, {**peer.headers(session=what != "initialize"), "Origin": origin})
            assert status == 403, f"{credential} {what}: {status}"
            assert "mcp-session-id" not in headers
            assert "evil" not in headers.get("access-control-allow-origin", "")
            assert headers.get("access-control-allow-origin") != "null"
            case.refused("forbidden_origin")
    assert not [e for e in world.received("echo")[before:] if '"o"' in e.get("line", "")], "a refused call ran"


@pytest.mark.case("SEC-ORIG-001")
def test_a_request_without_origin_and_an_allowed_origin_are_served(world: World, case: Case) -> None:
    alice = world.peer("alice")
    alice.initialize()
    assert alice.call("echo__echo", {"text": "plain"}).status == 200
    allowed = alice.call("echo__echo", {"text": "same-origin"}, headers=alice.headers(Origin=world.base_url))
    assert allowed.status == 200


def _hosts(port: int) -> list[tuple[str, str | None]]:
    return [
        (f"rebind.evil.example:{port}", f"http://rebind.evil.example:{port}"),
        ("rebind.evil.example", None),
        # unseen variants of the same class
        (f"127.0.0.1.nip.io:{port}", None),
        (f"0.0.0.0:{port}", None),
        (f"REBIND.EVIL.EXAMPLE:{port}", None),
        (f"localhost.:{port}", None),
    ]


@pytest.mark.case("SEC-ORIG-002")
@pytest.mark.parametrize("path", [MCP_PATH, "/admin/", "/admin/api/servers"])
def test_a_host_outside_the_allowed_hosts_is_refused(world: World, case: Case, path: str) -> None:
    admin = world.peer("admin")
    for host, origin in _hosts(world.port):
        headers = {**admin.headers(session=False), "Host": host}
        if origin:
            headers["Origin"] = origin
        method, body = ("POST", INIT) if path == MCP_PATH else ("GET", None)
        reply = admin.request(method, path, body=body, headers=headers)
        assert reply.status in (421, 403), f"Host {host}: {reply.status}"
        assert "mcp-session-id" not in {k.lower() for k in reply.headers}
        case.refused("forbidden_host", "forbidden_origin")


@pytest.mark.case("SEC-ORIG-002")
def test_a_rebinding_host_is_refused_in_local_no_auth_mode_too(
    tmp_path_factory: pytest.TempPathFactory, world: World, case: Case
) -> None:
    case.harness_load()
    local = World(tmp_path_factory.mktemp("noauth"), overrides={"auth": {"api_keys": False}})
    try:
        local.start()
        anonymous = local.peer("anonymous")
        for host, origin in _hosts(local.port):
            headers = {**anonymous.headers(session=False), "Host": host, **({"Origin": origin} if origin else {})}
            assert anonymous.post(INIT, headers=headers).status in (421, 403), host
        assert anonymous.post(INIT).status == 200, "the loopback host itself is served without auth"
        assert local.calls_received("echo") == []
    finally:
        local.stop()
