"""http-auth: SEC-AUTH-001, -003, -004, -006. The world accepts API keys and, in OAuth resource-server mode, JWTs
from a test IdP (tests/integration/test_auth.py's `Idp`: an RSA key idp-1 generated per run, no key committed)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_auth import ISSUER, RESOURCE, Idp, claim_attacks, signature_bypasses
from tests.security.conftest import Case
from tests.security.test_protocol_abuse import modern_headers, modern_meta
from tests.security.world import MCP_PATH, UPSTREAM_SECRET, Peer, World, tool_text

METADATA = "/.well-known/oauth-protected-resource"
IDP = Idp()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("auth")
    jwks = root / "jwks.json"
    jwks.write_text(json.dumps(IDP.jwks))
    oauth = {"resource": RESOURCE, "issuer": ISSUER, "jwks": str(jwks), "profile_claim": "profile"}
    world = World(root, overrides={"auth": {"api_keys": True, "oauth": oauth}})
    try:
        world.start()
        yield world
    finally:
        world.stop()


def bearer(world: World, token: str | None) -> Peer:
    return world.fresh_peer("alice", key=token or "") if token else Peer(world, "anonymous", None)


def _unauthenticated_requests(world: World) -> dict[str, tuple[str, dict[str, Any] | None, dict[str, str]]]:
    anonymous = world.peer("anonymous")
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}},
    }
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "echo__echo", "arguments": {"text": "x"}, "_meta": modern_meta()},
    }
    fake_session = {"Mcp-Session-Id": secrets.token_hex(16)}
    return {
        "post_initialize": ("POST", init, anonymous.headers()),
        "get_stream": ("GET", None, {**anonymous.headers(), **fake_session, "Accept": "text/event-stream"}),
        "delete_session": ("DELETE", None, {**anonymous.headers(), **fake_session}),
        "modern_call": ("POST", call, modern_headers(anonymous, call)),
    }


REQUESTS = ["post_initialize", "get_stream", "delete_session", "modern_call"]


@pytest.mark.case("SEC-AUTH-001")
@pytest.mark.parametrize("credential", ["none", "empty_bearer", "basic_scheme", "bearer_lowercase_garbage"])
def test_no_credentials_get_401_with_the_metadata_challenge(world: World, case: Case, credential: str) -> None:
    before = len(world.received("echo"))
    for request_name in REQUESTS:
        method, body, headers = _unauthenticated_requests(world)[request_name]
        headers = dict(headers)
        headers.update(
            {
                "none": {},
                "empty_bearer": {"Authorization": "Bearer"},
                "basic_scheme": {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
                "bearer_lowercase_garbage": {"Authorization": "bearer not-a-key"},
            }[credential]
        )
        reply = world.peer("anonymous").request(method, MCP_PATH, body=body, headers=headers)
        assert reply.status == 401, f"{request_name}: {reply.status}"
        challenge = reply.headers.get("www-authenticate", "")
        assert challenge.startswith("Bearer ")
        assert f'resource_metadata="http://127.0.0.1:8931{METADATA}"' in challenge
        assert "mcp-session-id" not in reply.headers
        case.refused("no_credentials", "invalid_token", "invalid_key")
    assert not [e for e in world.received("echo")[before:] if '"text":"x"' in e.get("line", "")], "a refused call ran"


@pytest.mark.case("SEC-AUTH-001")
def test_the_protected_resource_metadata_names_the_mcp_url_and_the_issuer(world: World, case: Case) -> None:
    reply = world.peer("anonymous").request("GET", METADATA, headers={})
    assert reply.status == 200
    document = json.loads(reply.text)
    assert document["resource"] == RESOURCE
    assert ISSUER in document["authorization_servers"]


@pytest.mark.case("SEC-AUTH-003")
@pytest.mark.parametrize("token_name", [*signature_bypasses(IDP), "truncated_signature", "swapped_payload"])
def test_a_token_with_a_bypassed_signature_is_refused(world: World, case: Case, token_name: str) -> None:
    good = IDP.token(profile="basic")
    header, payload, signature = good.split(".")
    tokens = {
        **signature_bypasses(IDP),
        "truncated_signature": f"{header}.{payload}.{signature[:-8]}",
        "swapped_payload": f"{header}.{IDP.token(sub='admin', profile='basic').split('.')[1]}.{signature}",
    }
    reply = bearer(world, tokens[token_name]).rpc("tools/list", {})
    assert reply.status == 401
    assert 'error="invalid_token"' in reply.headers.get("www-authenticate", "")
    case.refused("invalid_token", "invalid_signature", "unknown_kid", "unsupported_alg")


@pytest.mark.case("SEC-AUTH-004")
@pytest.mark.parametrize("attack", list(claim_attacks(IDP)))
def test_a_token_for_another_audience_issuer_or_time_is_refused_alike(world: World, case: Case, attack: str) -> None:
    token, audit_reason = claim_attacks(IDP)[attack]
    reply = bearer(world, token).rpc("tools/list", {})
    assert reply.status == 401
    assert 'error="invalid_token"' in reply.headers.get("www-authenticate", "")
    other = bearer(world, "x.y.z").rpc("tools/list", {})
    assert reply.text == other.text, "the response must not tell which check failed"
    case.refused(audit_reason)
    case.refused("invalid_token", "malformed_token")


@pytest.mark.case("SEC-AUTH-004")
def test_a_valid_token_is_accepted(world: World, case: Case) -> None:
    peer = bearer(world, IDP.token(profile="basic"))
    peer.initialize()
    assert tool_text(peer.call("echo__echo", {"text": "ok"}).message) == "ok"


CLIENT_CREDENTIALS = {
    "Cookie": "session=abc",
    "X-Api-Key": "cnry-key-a-9f02c1",
    "Proxy-Authorization": "Basic eDp5",
    "Last-Event-ID": "5",
    "X-Forwarded-For": "1.2.3.4",
    # unseen credential-bearing headers of the same class
    "X-Auth-Token": "cnry-jwt-hs-0b9e",
    "X-Amz-Security-Token": "cnry-aws-secret-2d8a",
}


@pytest.mark.case("SEC-AUTH-006")
@pytest.mark.parametrize("credential", ["api_key", "jwt"])
def test_client_credentials_never_reach_a_backend(world: World, case: Case, credential: str) -> None:
    token = world.keys["alice"] if credential == "api_key" else IDP.token(profile="basic")
    alice = world.fresh_peer("alice", key=token)
    session = alice.initialize()
    before = len(world.received("web"))
    reply = alice.call("web__fetch", {"url": "https://example.test/"}, headers=alice.headers(**CLIENT_CREDENTIALS))
    assert tool_text(reply.message) == "fetched https://example.test/"
    upstream = [entry for entry in world.received("web")[before:] if '"tools/call"' in entry.get("body", "")]
    assert len(upstream) == 1
    headers = {name.lower(): value for name, value in upstream[0]["headers"].items()}
    assert headers.get("authorization") in (f"Bearer {UPSTREAM_SECRET}", None)
    leaked = {name for name in CLIENT_CREDENTIALS if name.lower() in headers}
    assert not leaked, f"client headers forwarded to web: {leaked}"
    assert headers.get("mcp-session-id") != session
    assert token not in json.dumps(upstream[0])
    for stdio_backend in ("echo", "files", "evil"):
        assert token not in json.dumps(world.starts(stdio_backend))
        assert token not in json.dumps(world.received(stdio_backend))


@pytest.mark.case("SEC-SESS-002")
def test_a_session_opened_with_a_jwt_refuses_the_same_subjects_expired_token(world: World, case: Case) -> None:
    peer = bearer(world, IDP.token(profile="basic"))
    session = peer.initialize()
    expired = bearer(world, IDP.token(profile="basic", exp=int(time.time()) - 600))
    expired.session = session
    reply = expired.call("echo__echo", {"text": "x"})
    assert reply.status == 401
    assert 'error="invalid_token"' in reply.headers.get("www-authenticate", "")
    assert tool_text(peer.call("echo__echo", {"text": "still"}).message) == "still"
    case.refused("expired")
