"""Authentication on the HTTP front: API keys from the registry and OAuth 2.1 bearer JWTs (resource-server mode).

JWT signing keys are generated here, per test run (no private key is committed); the JWKS is served from a
file or from a small local HTTP app. Every refusal is checked on the wire (status, WWW-Authenticate, body)
and in the audit log (the precise reason the client is not told).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jwt
import pytest
import uvicorn
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from switchyard.config import AuthConfig, Config
from switchyard.front.auth import UnsafeBind, check_bind
from switchyard.gateway import Gateway
from switchyard.registry import AuditRecord, Store
from tests.integration.harness import http_front, make_config, running_gateway, stdio_server, wait_for
from tests.integration.test_cli import Cli
from tests.integration.test_http_upstream import Scripted, _serving
from tests.support import faulty_argv, free_port

pytestmark = pytest.mark.integration

RESOURCE = "http://127.0.0.1:8931/mcp"
ISSUER = "https://idp.test"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
PING = {"jsonrpc": "2.0", "id": 2, "method": "ping"}


# -- keys and tokens ---------------------------------------------------------------------------------------


class Idp:
    """A test identity provider: an RSA key `idp-1` published in a JWKS, and a stranger's key."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "idp-1", "use": "sig", "alg": "RS256"}]}

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "iat": now, "exp": now + 600}
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: Any = None, headers: dict[str, Any] | None = None, **changes: Any) -> str:
        return jwt.encode(
            self.claims(**changes), key or self.key, algorithm="RS256", headers={"kid": "idp-1", **(headers or {})}
        )

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def signature_bypasses(idp: Idp) -> dict[str, str]:
    """SEC-AUTH-003: tokens that must never verify."""
    claims = idp.claims()
    hs_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": "idp-1"}, claims)
    hs_signature = hmac.new(idp.public_pem(), hs_input.encode(), hashlib.sha256).digest()
    jwe_header = _b64(json.dumps({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "idp-1"}).encode())
    return {
        "alg_none": _unsigned({"alg": "none", "typ": "JWT"}, claims) + ".",
        "hs256_with_public_key": f"{hs_input}.{_b64(hs_signature)}",
        "foreign_key_same_kid": idp.token(key=idp.other),
        "kid_path_traversal": idp.token(headers={"kid": "../../../../dev/null"}),
        "kid_sql_injection": idp.token(headers={"kid": "x' OR '1'='1"}),
        "crit_unknown": idp.token(headers={"crit": ["unknown-ext"], "unknown-ext": True}),
        "jwe": ".".join([jwe_header, *(_b64(os.urandom(size)) for size in (256, 12, 64, 16))]),
    }


def claim_attacks(idp: Idp) -> dict[str, tuple[str, str]]:
    """SEC-AUTH-004: well-signed tokens for another audience, issuer or time -> the audit reason each gets."""
    now = int(time.time())
    return {
        "other_audience": (idp.token(aud="https://other-api.example"), "aud_mismatch"),
        "no_audience": (idp.token(aud=None), "aud_mismatch"),
        "other_issuer": (idp.token(iss="https://evil.idp"), "iss_mismatch"),
        "expired": (idp.token(exp=now - 600), "expired"),
        "expired_past_the_skew": (idp.token(exp=now - 61), "expired"),
        "not_yet_valid": (idp.token(nbf=now + 600), "not_yet_valid"),
        "no_exp": (idp.token(exp=None), "no_exp"),
    }


# -- gateways ----------------------------------------------------------------------------------------------


def _config(auth: dict[str, Any], **extra: Any) -> Config:
    base = make_config({"srv": stdio_server(faulty_argv())})
    return Config.model_validate({**base.model_dump(exclude={"source"}), "auth": auth, **extra})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(str(tmp_path / "registry.db"))
    try:
        yield opened
    finally:
        await opened.close()


@contextlib.asynccontextmanager
async def serving(config: Config, store: Store) -> AsyncIterator[tuple[Gateway, str]]:
    async with running_gateway(config, store) as gateway, http_front(gateway) as url:
        yield gateway, url


async def audit_reasons(gateway: Gateway, store: Store) -> list[AuditRecord]:
    """Records written so far, oldest first."""
    await gateway.audit.flush()
    return list(reversed(await store.list_audit(limit=1000)))


def bearer(token: str) -> dict[str, str]:
    return {**ACCEPT, "Authorization": f"Bearer {token}"}


async def _initialize(http: httpx2.AsyncClient, url: str, headers: dict[str, str]) -> str:
    response = await http.post(url, json=INIT, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


# -- API keys ----------------------------------------------------------------------------------------------


async def test_api_keys_are_required_checked_and_audited(store: Store) -> None:
    key, secret = await store.create_api_key("alice", None, "client")
    async with serving(_config({"api_keys": True}), store) as (gateway, url):
        async with httpx2.AsyncClient() as http:
            for method in ("POST", "GET", "DELETE"):
                refused = await http.request(method, url, json=INIT if method == "POST" else None, headers=ACCEPT)
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"] == "Bearer"  # no token: no error code (RFC 6750)
            assert gateway.sessions == set()  # nothing was created for them
            wrong = await http.post(url, json=INIT, headers=bearer(secret[:-1] + ("A" if secret[-1] != "A" else "B")))
            assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'
            basic = await http.post(url, json=INIT, headers={**ACCEPT, "Authorization": "Basic eDp5"})
            assert basic.status_code == 401 and basic.json() == wrong.json()
            session = await _initialize(http, url, bearer(secret))
            ping = await http.post(url, json=PING, headers={**bearer(secret), "Mcp-Session-Id": session})
            assert ping.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}
            (served,) = gateway.sessions
            assert (served.client.principal, served.client.role, served.client.remote) == (
                "alice",
                "client",
                "127.0.0.1",
            )
        records = await audit_reasons(gateway, store)
    refusals = [(r.principal, r.decision, r.reason, r.remote) for r in records if r.decision == "reject"]
    assert (
        refusals
        == [("anonymous", "reject", "no_credentials", "127.0.0.1")] * 3
        + [("anonymous", "reject", "invalid_token", "127.0.0.1")] * 2
    )
    assert secret not in repr(records) and key.key_id


async def test_a_revoked_key_stops_working_within_a_second_and_its_sessions_end(store: Store) -> None:
    key, secret = await store.create_api_key("alice", None, "client")
    _, second = await store.create_api_key("alice-laptop", None, "client")
    async with serving(_config({"api_keys": True}), store) as (gateway, url):
        async with httpx2.AsyncClient() as http:
            session = await _initialize(http, url, bearer(secret))
            await store.revoke_api_key(key.key_id)
            revoked_at = time.monotonic()
            with anyio.fail_after(3):
                while (
                    await http.post(url, json=PING, headers={**bearer(secret), "Mcp-Session-Id": session})
                ).status_code != 401:
                    await anyio.sleep(0.05)
            assert time.monotonic() - revoked_at < 2.0
            assert gateway.sessions == set()  # the session it opened was closed with it
            other = await http.post(url, json=PING, headers={**bearer(second), "Mcp-Session-Id": session})
            assert other.status_code == 404  # even for another valid key: the session is gone


async def test_stdio_and_loopback_http_need_no_credentials_by_default() -> None:
    async with (
        running_gateway(make_config({"srv": stdio_server(faulty_argv())})) as gateway,
        http_front(gateway) as url,
    ):
        async with httpx2.AsyncClient() as http:
            await _initialize(http, url, ACCEPT)
            (served,) = gateway.sessions
            assert served.client.principal == "local"


def test_a_non_loopback_address_without_auth_is_refused_unless_allowed() -> None:
    with pytest.raises(UnsafeBind, match="--allow-unauthenticated"):
        check_bind("0.0.0.0", AuthConfig())
    check_bind("0.0.0.0", AuthConfig(), allow_unauthenticated=True)
    check_bind("0.0.0.0", AuthConfig(allow_unauthenticated_remote=True))
    check_bind("0.0.0.0", AuthConfig(api_keys=True))
    for host in ("127.0.0.1", "localhost", "::1"):
        check_bind(host, AuthConfig())


async def test_client_credentials_never_reach_a_backend(store: Store) -> None:
    """SEC-AUTH-006: the backend sees the gateway's own credential and session, none of the client's headers."""
    _, secret = await store.create_api_key("alice", None, "client")
    backend = Scripted()
    async with _serving(backend) as (backend_url, _):
        upstream = {"type": "http", "url": backend_url, "headers": {"Authorization": "Bearer cnry-upstream-51ac"}}
        config = Config.model_validate({"mcpServers": {"web": upstream}, "auth": {"api_keys": True}})
        async with serving(config, store) as (_, url), httpx2.AsyncClient() as http:
            session = await _initialize(http, url, bearer(secret))
            client_headers = {
                **bearer(secret),
                "Mcp-Session-Id": session,
                "Cookie": "session=abc",
                "X-Api-Key": "cnry-key-a-9f02c1",
                "Proxy-Authorization": "Basic eDp5",
                "Last-Event-ID": "5",
                "X-Forwarded-For": "1.2.3.4",
            }
            call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "web__ok", "arguments": {}}}
            answer = await http.post(url, json=call, headers=client_headers)
            assert answer.json()["result"]["content"][0]["text"] == "ok done"
    (seen,) = [headers for message, headers in backend.posts if message.get("method") == "tools/call"]
    assert seen["authorization"] == "Bearer cnry-upstream-51ac"
    assert seen["mcp-session-id"] != session and seen["mcp-session-id"].startswith("s-")
    for name in ("cookie", "x-api-key", "proxy-authorization", "last-event-id", "x-forwarded-for"):
        assert name not in seen
    assert secret not in json.dumps(backend.posts) and session not in json.dumps(backend.posts)


# -- the CLI and a running gateway, as separate processes --------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    cli = Cli(tmp_path, {"srv": {"command": faulty_argv()[0], "args": faulty_argv()[1:]}})
    document = yaml.safe_load(cli.config.read_text())
    document["auth"] = {"api_keys": True}
    document["profiles"] = {"basic": {}}
    cli.config.write_text(yaml.safe_dump(document))
    yield cli


def test_keys_cli_creates_lists_and_revokes_keys_a_running_gateway_honours(cli: Cli) -> None:
    port = free_port()
    gateway = subprocess.Popen(
        [*cli.argv("serve", "--http", f"127.0.0.1:{port}"), "--log-level", "warning"],
        env=cli.env,
        cwd=cli.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        created = cli.json("keys", "create", "alice", "--profile", "basic")
        assert created["name"] == "alice" and created["profile"] == "basic" and created["role"] == "client"
        secret = created["secret"]
        assert secret.startswith(f"sy_{created['key_id']}_")
        listed = cli.json("keys", "list")
        assert [k["key_id"] for k in listed] == [created["key_id"]] and secret not in json.dumps(listed)
        assert (
            "no profile named 'nope' (known: basic)" in cli("keys", "create", "bob", "--profile", "nope", code=1).stderr
        )
        actions = [(r["method"], r["decision"]) for r in cli.json("audit") if r["method"].startswith("admin/keys/")]
        assert actions == [
            ("admin/keys/create", "deny"),
            ("admin/keys/create", "allow"),
        ]  # the CLI is audited like the API
        url = f"http://127.0.0.1:{port}/mcp"
        with httpx2.Client() as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    response = http.post(url, json=INIT, headers=bearer(secret))
                    break
                except httpx2.ConnectError:
                    assert gateway.poll() is None and time.monotonic() < deadline
                    time.sleep(0.1)
            assert response.status_code == 200
            session = response.headers["mcp-session-id"]
            revoked = cli("keys", "revoke", created["key_id"])
            assert created["key_id"] in revoked.stdout
            started = time.monotonic()
            while http.post(url, json=PING, headers={**bearer(secret), "Mcp-Session-Id": session}).status_code != 401:
                assert time.monotonic() - started < 2.5, "the revoked key still works"
                time.sleep(0.05)
        assert cli.json("keys", "list") == []
        assert cli.json("keys", "list", "--revoked")[0]["revoked_at"] is not None
    finally:
        gateway.terminate()
        gateway.wait(10)


def test_serve_refuses_a_public_address_without_auth(cli: Cli) -> None:
    document = yaml.safe_load(cli.config.read_text())
    del document["auth"]
    cli.config.write_text(yaml.safe_dump(document))
    refused = cli("serve", "--http", f"0.0.0.0:{free_port()}", code=2)
    assert "without authentication" in refused.stderr and "--allow-unauthenticated" in refused.stderr


# -- OAuth resource-server mode ----------------------------------------------------------------------------


@pytest.fixture
def idp() -> Idp:
    return Idp()


def _oauth(jwks: str, **extra: Any) -> dict[str, Any]:
    return {"oauth": {"resource": RESOURCE, "issuer": ISSUER, "jwks": jwks, **extra}}


async def test_jwt_mode_publishes_metadata_and_challenges_without_credentials(
    idp: Idp, store: Store, tmp_path: Path
) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps(idp.jwks))
    async with serving(_config(_oauth(str(tmp_path / "jwks.json"))), store) as (gateway, url):
        base = url.removesuffix("/mcp")
        async with httpx2.AsyncClient() as http:
            for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
                document = (await http.get(base + path)).json()
                assert document["resource"] == RESOURCE and document["authorization_servers"] == [ISSUER]
            missing = await http.post(url, json=INIT, headers=ACCEPT)
            assert missing.status_code == 401
            expected = 'Bearer resource_metadata="http://127.0.0.1:8931/.well-known/oauth-protected-resource"'
            assert missing.headers["www-authenticate"] == expected
            assert "access-control-allow-origin" not in missing.headers
            session = await _initialize(http, url, bearer(idp.token()))
            ping = await http.post(url, json=PING, headers={**bearer(idp.token()), "Mcp-Session-Id": session})
            assert ping.status_code == 200
            (served,) = gateway.sessions
            assert served.client.principal == "alice"
        assert [r.reason for r in await audit_reasons(gateway, store) if r.decision == "reject"] == ["no_credentials"]


async def test_forged_and_misdirected_tokens_get_one_answer_and_a_precise_audit(
    idp: Idp, store: Store, tmp_path: Path
) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps(idp.jwks))
    forged = signature_bypasses(idp)
    misdirected = claim_attacks(idp)
    async with serving(_config(_oauth(str(tmp_path / "jwks.json"))), store) as (gateway, url):
        async with httpx2.AsyncClient() as http:
            answers = {}
            for name, token in [*forged.items(), *((n, t) for n, (t, _) in misdirected.items())]:
                response = await http.post(url, json=INIT, headers=bearer(token))
                assert response.status_code == 401, name
                assert 'error="invalid_token"' in response.headers["www-authenticate"], name
                answers[name] = response.content
            assert len(set(answers.values())) == 1  # the client learns nothing of what was wrong
            assert gateway.sessions == set()
            control = await http.post(url, json=INIT, headers=bearer(idp.token()))
            assert control.status_code == 200
        reasons = [r.reason for r in await audit_reasons(gateway, store) if r.decision == "reject"]
    assert reasons == ["invalid_token"] * len(forged) + [reason for _, reason in misdirected.values()]


async def test_jwt_claims_map_to_profile_and_role(idp: Idp, store: Store, tmp_path: Path) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps(idp.jwks))
    auth = _oauth(str(tmp_path / "jwks.json"), profile_claim="sy_profile", admin_scope="switchyard:admin")
    config = _config(auth, profiles={"basic": {}})
    async with serving(config, store) as (gateway, url):
        async with httpx2.AsyncClient() as http:
            token = idp.token(sy_profile="basic", scope="openid switchyard:admin")
            await _initialize(http, url, bearer(token))
            (served,) = gateway.sessions
            assert (served.client.profile, served.client.role) == ("basic", "admin")


@contextlib.asynccontextmanager
async def jwks_server(document: dict[str, Any]) -> AsyncIterator[tuple[str, list[float]]]:
    """A JWKS endpoint on 127.0.0.1 that records when it was fetched."""
    fetches: list[float] = []

    async def jwks(request: Any) -> JSONResponse:
        fetches.append(time.monotonic())
        return JSONResponse(document)

    app = Starlette(routes=[Route("/jwks.json", jwks)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        await wait_for(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/jwks.json", fetches
        server.should_exit = True


async def test_a_jwks_url_is_fetched_once_and_an_unknown_kid_cannot_make_it_refetch_at_will(
    idp: Idp, store: Store
) -> None:
    async with jwks_server(idp.jwks) as (jwks_url, fetches):
        async with serving(_config(_oauth(jwks_url)), store) as (_, url):
            async with httpx2.AsyncClient() as http:
                for _ in range(3):
                    assert (await http.post(url, json=INIT, headers=bearer(idp.token()))).status_code == 200
                for kid in ("rotated-1", "rotated-2", "rotated-3"):
                    unknown = idp.token(headers={"kid": kid})
                    assert (await http.post(url, json=INIT, headers=bearer(unknown))).status_code == 401
    assert len(fetches) == 1


async def test_an_ec_key_is_pinned_to_es256(store: Store, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))  # no "alg": implied by the curve
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "ec-1"}]}))
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": RESOURCE, "sub": "carol", "exp": now + 60}
    async with serving(_config(_oauth(str(tmp_path / "jwks.json"))), store) as (_, url):
        async with httpx2.AsyncClient() as http:
            good = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "ec-1"})
            assert (await http.post(url, json=INIT, headers=bearer(good))).status_code == 200
            rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            other_alg = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "ec-1"})
            assert (await http.post(url, json=INIT, headers=bearer(other_alg))).status_code == 401
