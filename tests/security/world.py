"""The security suite's test world (../shared/security/cases-dev.yaml `fixtures`), mapped to real paths here only.

A `World` is a real gateway subprocess (`switchyard serve --http 127.0.0.1:<free port>`) with a generated config
and registry in a temporary directory, API keys for alice (profile basic), bob (profile writer, sending from
127.0.0.2) and admin made in that registry, and the backends of the case file played by
tests/fixtures/servers/evil.py: echo, files, slow, admin_tools, secret_srv and evil on stdio, web and evil_http
on Streamable HTTP. Every backend records what it receives; `internal_sink` is an HTTP listener that must never
be reached. `Peer` is one principal's raw HTTP client; every response it gets is kept for the secret scan.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import httpx2
import psutil
import yaml

from switchyard import errors
from switchyard.registry import Store
from tests.support import REPO_ROOT, free_port

EVIL = REPO_ROOT / "tests" / "fixtures" / "servers" / "evil.py"
MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
ADMIN_API = "/admin/api"
PROTOCOL = "2025-11-25"
MODERN_PROTOCOL = "2026-07-28"
STARTUP_TIMEOUT = 60.0

# Error names of the case file -> the gateway's codes (src/switchyard/errors.py decides the numbers).
ERROR_CODES: dict[str, int] = {
    "PARSE_ERROR": errors.PARSE_ERROR,
    "INVALID_REQUEST": errors.INVALID_REQUEST,
    "METHOD_NOT_FOUND": errors.METHOD_NOT_FOUND,
    "INVALID_PARAMS": errors.INVALID_PARAMS,
    "INTERNAL_ERROR": errors.INTERNAL_ERROR,
    "HEADER_MISMATCH": errors.Reason.HEADER_MISMATCH.code,
    "MISSING_REQUIRED_CLIENT_CAPABILITY": errors.Reason.MISSING_CAPABILITY.code,
    "UNSUPPORTED_PROTOCOL_VERSION": -32022,
    "POLICY_DENIED": errors.Reason.NOT_ALLOWED.code,
    "BACKEND_UNAVAILABLE": errors.Reason.CIRCUIT_OPEN.code,
    "BACKEND_CRASHED": errors.Reason.BACKEND_CRASHED.code,
    "TIMEOUT": errors.Reason.BACKEND_TIMEOUT.code,
    "RATE_LIMITED": errors.Reason.RATE_LIMITED.code,
    "PAYLOAD_TOO_LARGE": errors.Reason.RESPONSE_TOO_LARGE.code,
    "TOOL_QUARANTINED": errors.Reason.DEFINITION_CHANGED.code,
    "BACKEND_PROTOCOL_ERROR": errors.Reason.INVALID_BACKEND_MESSAGE.code,
    "CONTENT_BLOCKED": errors.Reason.OUTPUT_POLICY.code,
}

# Canary secrets: where the world configures each, so a leak is found by a plain search.
ENV_SECRET = "cnry-env-3b7e9d"  # API_TOKEN of files and secret_srv
UPSTREAM_SECRET = "cnry-upstream-51ac"  # the gateway's credential for web and evil_http
DB_SECRET = "cnry-db-pw-6c1f"
AWS_SECRET = "cnry-aws-secret-2d8a"
AWS_KEY_ID = "AKIACNRY0000EXAMPLE"
STATIC_CANARIES = (
    "cnry-key-a-9f02c1",
    "cnry-key-b-41d7e0",
    "cnry-admin-77d1aa",
    "cnry-jwt-hs-0b9e",
    ENV_SECRET,
    UPSTREAM_SECRET,
    DB_SECRET,
    AWS_SECRET,
    AWS_KEY_ID,
)
# Backends a canary may legitimately reach (it is configured for them).
CANARY_OWNERS: dict[str, frozenset[str]] = {
    ENV_SECRET: frozenset({"files", "secret_srv"}),
    UPSTREAM_SECRET: frozenset({"web", "evil_http"}),
}

STDIO_ROLES = ("echo", "files", "slow", "admin_tools", "secret_srv", "evil")
HTTP_ROLES = {"web": "web", "evil_http": "evil"}
PROFILES = {
    "basic": ["echo__echo", "echo__add", "files__read_file", "web__fetch", "evil__*", "evil_http__*", "slow__*"],
    "writer": ["echo__echo", "echo__add", "files__read_file", "files__write_file"],
}
ALLOWED_SERVERS = ["echo", "files", "web", "slow", "admin_tools", "evil", "evil_http"]  # not secret_srv


def encodings(secret: str) -> set[str]:
    """The forms a leaked secret can take: raw, URL-encoded, hex, and base64 at each byte alignment."""
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), raw.hex(), raw.hex().upper()}
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * pad + raw).decode()
            # Keep only the characters made of the secret's bits alone (not of the bytes around it).
            forms.add(encoded[-(-8 * pad // 6) : 8 * (pad + len(raw)) // 6])
    return {form for form in forms if len(form) >= 8}


def find_canaries(text: str, canaries: set[str]) -> list[str]:
    return sorted(secret for secret in canaries if any(form in text for form in encodings(secret)))


# -- the internal sink ----------------------------------------------------------------------------------------


class Sink:
    """`internal_sink`: stands in for cloud metadata and internal services; records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _record(self) -> None:
                sink.requests.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _record

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- replies ----------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One HTTP response: status, headers, text, and the JSON-RPC messages in it (JSON or SSE)."""

    status: int
    headers: httpx2.Headers
    text: str
    messages: list[Any]

    @property
    def message(self) -> dict[str, Any]:
        """The one JSON-RPC response in the reply (notifications before it skipped)."""
        responses = [m for m in self.messages if isinstance(m, dict) and ("result" in m or "error" in m)]
        assert len(responses) == 1, f"expected one JSON-RPC response, got HTTP {self.status}: {self.text[:500]}"
        return responses[0]

    @property
    def error(self) -> dict[str, Any]:
        message = self.message
        assert "error" in message, f"expected a JSON-RPC error, got {json.dumps(message)[:500]}"
        return dict(message["error"])

    @property
    def reason(self) -> str | None:
        data = self.error.get("data")
        return data.get("reason") if isinstance(data, dict) else None


def parse_messages(content_type: str, text: str) -> list[Any]:
    if "text/event-stream" in content_type:
        found = []
        for event in text.split("\n\n"):
            data = "\n".join(line[5:].lstrip() for line in event.splitlines() if line.startswith("data:"))
            if data:
                with contextlib.suppress(ValueError):
                    found.append(json.loads(data))
        return found
    try:
        parsed = json.loads(text) if text.strip() else None
    except ValueError:
        return []
    if parsed is None:
        return []
    return parsed if isinstance(parsed, list) else [parsed]


def tool_text(message: dict[str, Any]) -> str:
    """The text content of a successful tools/call response."""
    assert "result" in message, f"expected a result, got {json.dumps(message)[:500]}"
    return "".join(part.get("text", "") for part in message["result"].get("content", []))


# -- peers: one principal's HTTP client ------------------------------------------------------------------


class Peer:
    """A principal on the HTTP front: raw requests with its headers, its own session, and a transcript."""

    def __init__(self, world: World, name: str, key: str | None, local_address: str | None = None) -> None:
        self.world = world
        self.name = name
        self.key = key
        self.session: str | None = None
        self.client = httpx2.Client(
            base_url=world.base_url,
            timeout=30.0,
            transport=httpx2.HTTPTransport(local_address=local_address),
        )
        self._ids = 0

    def close(self) -> None:
        self.client.close()

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def headers(self, *, session: bool = True, version: str = PROTOCOL, **extra: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": version,
        }
        if self.key is not None:
            headers["Authorization"] = f"Bearer {self.key}"
        if session and self.session is not None:
            headers["Mcp-Session-Id"] = self.session
        headers.update(extra)
        return headers

    def request(
        self,
        method: str,
        path: str = MCP_PATH,
        *,
        body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        """Send exactly these headers (default: this peer's) and body; the reply is kept for the secret scan."""
        if body is not None:
            content = json.dumps(body).encode()
        response = self.client.request(
            method, path, content=content, headers=self.headers() if headers is None else headers, timeout=timeout
        )
        reply = Reply(
            response.status_code,
            response.headers,
            response.text,
            parse_messages(response.headers.get("content-type", ""), response.text),
        )
        self.world.transcript.append(f"{dict(response.headers)}\n{response.text}")
        return reply

    def post(self, body: Any = None, *, content: bytes | None = None, **kw: Any) -> Reply:
        return self.request("POST", body=body, content=content, **kw)

    def initialize(self) -> str:
        """Open a 2025-11-25 session (initialize + initialized); returns its id."""
        self.session = None
        init = {
            "jsonrpc": "2.0",
            "id": self.next_id(),
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": self.name, "version": "1"},
            },
        }
        reply = self.post(init)
        assert reply.status == 200, f"{self.name}: initialize answered HTTP {reply.status}: {reply.text[:300]}"
        session = reply.headers.get("mcp-session-id")
        assert session, f"{self.name}: initialize gave no Mcp-Session-Id"
        self.session = session
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return session

    def rpc(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Reply:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id(), "method": method}
        if params is not None:
            message["params"] = params
        return self.post(message, **kw)

    def call(self, name: str, arguments: dict[str, Any] | None = None, **kw: Any) -> Reply:
        return self.rpc("tools/call", {"name": name, "arguments": arguments or {}}, **kw)

    def tool_names(self) -> list[str]:
        names: list[str] = []
        cursor: str | None = None
        while True:
            reply = self.rpc("tools/list", {"cursor": cursor} if cursor else {})
            result = reply.message["result"]
            names += [tool["name"] for tool in result["tools"]]
            cursor = result.get("nextCursor")
            if not cursor:
                return names


# -- the world ------------------------------------------------------------------------------------------------


@dataclass
class World:
    """A running gateway with the case file's principals, profiles, backends and sink."""

    root: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    evil_control: dict[str, Any] = field(default_factory=dict)
    port: int = 0
    keys: dict[str, str] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    http_backends: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    http_ports: dict[str, int] = field(default_factory=dict)
    sink: Sink | None = None
    peers: dict[str, Peer] = field(default_factory=dict)
    configure: Callable[[World], dict[str, Any]] | None = None  # overrides that need the port or the sink
    audit_mark: int = 0  # the last audit id a case accounted for

    # -- paths --------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.root / "switchyard.yaml"

    @property
    def registry(self) -> Path:
        return self.root / "registry.sqlite3"

    @property
    def control_path(self) -> Path:
        return self.root / "evil-control.json"

    def record_path(self, server: str) -> Path:
        return self.root / "records" / f"{server}.jsonl"

    @property
    def stdout_path(self) -> Path:
        return self.root / "gateway.stdout"

    @property
    def stderr_path(self) -> Path:
        return self.root / "gateway.stderr"

    # -- the config -------------------------------------------------------------------------------------------

    def _stdio(self, role: str, **extra: Any) -> dict[str, Any]:
        argv = [sys.executable, str(EVIL), "--role", role, "--record", str(self.record_path(role))]
        if role == "evil":
            argv += ["--control", str(self.control_path)]
        return {"command": argv[0], "args": argv[1:], "protocol": "legacy", **extra}

    def config(self) -> dict[str, Any]:
        upstream = {"Authorization": f"Bearer {UPSTREAM_SECRET}"}
        servers: dict[str, Any] = {
            "echo": self._stdio("echo"),
            "files": self._stdio("files", env={"API_TOKEN": ENV_SECRET}),
            "web": {"type": "http", "url": self._http_url("web"), "headers": upstream, "protocol": "legacy"},
            "slow": self._stdio("slow"),
            "admin_tools": self._stdio("admin_tools"),
            "secret_srv": self._stdio("secret_srv", env={"API_TOKEN": ENV_SECRET}),
            "evil": self._stdio("evil"),
            "evil_http": {
                "type": "http",
                "url": self._http_url("evil_http"),
                "headers": upstream,
                "protocol": "legacy",
            },
        }
        allowed_hosts = [self.host, f"localhost:{self.port}", f"[::1]:{self.port}"]
        data: dict[str, Any] = {
            "gateway": {
                "registry": str(self.registry),
                "request_timeout": 10,
                "max_request_bytes": 4 * 1024 * 1024,
                "http": {
                    "allowed_hosts": allowed_hosts,
                    "allowed_origins": [f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"],
                },
                "restart": {"initial_delay": 1.0, "max_delay": 2.0},
            },
            "auth": {"api_keys": True},
            "policies": {
                "servers": {"allow": ALLOWED_SERVERS},
                "arguments": {
                    "files__read_file": {"path": {"path_under": ["/srv/data"]}},
                    "web__fetch": {"url": {"url": {"schemes": ["https"], "hosts": ["example.test"], "ports": [443]}}},
                },
            },
            "profiles": {name: {"tools": {"allow": tools}} for name, tools in PROFILES.items()},
            "limits": {
                "max_inflight": 16,
                "call_timeout_s": 5,
                "max_response_bytes": 8 * 1024 * 1024,
                "circuit_failures": 5,
                "circuit_cooldown_s": 2,
            },
            "search": {"mode": "all"},
            "mcpServers": servers,
        }
        data = _merge(data, self.overrides)
        return _merge(data, self.configure(self)) if self.configure else data

    def _http_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http_ports[name]}/mcp"

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        home = self.root / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHYARD_", "XDG_"))}
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_STATE_HOME=str(home / ".local" / "state"),
            XDG_CACHE_HOME=str(home / ".cache"),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self) -> World:
        (self.root / "records").mkdir(parents=True, exist_ok=True)
        (self.root / "home").mkdir(exist_ok=True)
        self.set_evil(self.evil_control)
        self.sink = Sink()
        self.port = free_port()
        for name, role in HTTP_ROLES.items():
            self.http_ports[name] = free_port()
            argv = [sys.executable, str(EVIL), "--role", role, "--record", str(self.record_path(name))]
            argv += ["--control", str(self.control_path), "--http", str(self.http_ports[name])]
            self.http_backends[name] = subprocess.Popen(argv, env=self.environment(), stdin=subprocess.DEVNULL)
        self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        self.keys = anyio.run(self._make_keys)
        self.launch()
        self.peers = {
            "alice": Peer(self, "alice", self.keys["alice"]),
            "bob": Peer(self, "bob", self.keys["bob"], local_address="127.0.0.2"),
            "admin": Peer(self, "admin", self.keys["admin"]),
            "anonymous": Peer(self, "anonymous", None),
        }
        self._warm_up()
        return self

    def _warm_up(self) -> None:
        """Take the gateway through its first-use paths (the 2026-07-28 header checks import lazily and stall the
        event loop about a second the first time), so that no case is charged with that one-time cost."""
        probe = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        admin = self.peers["admin"]
        admin.post(probe, headers=admin.headers(session=False, version=MODERN_PROTOCOL, **{"Mcp-Method": "x"}))

    async def _make_keys(self) -> dict[str, str]:
        store = await Store.open(str(self.registry))
        try:
            keys = {}
            for name, profile, role in (
                ("alice", "basic", "client"),
                ("bob", "writer", "client"),
                ("admin", None, "admin"),
            ):
                _, keys[name] = await store.create_api_key(name, profile, role)
            return keys
        finally:
            await store.close()

    def launch(self) -> None:
        """Start (or restart) the gateway process and wait until it serves."""
        argv = [sys.executable, "-m", "switchyard", "serve", "--http", self.host, "-c", str(self.config_path)]
        argv += ["--registry", str(self.registry), "--log-level", "debug"]
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                argv, env=self.environment(), stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=self.root
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gateway exited with {self.proc.returncode}: {self.stderr_path.read_text()[-3000:]}"
                )
            with contextlib.suppress(httpx2.HTTPError):
                ready = httpx2.get(self.base_url + READY_PATH, timeout=2)
                if ready.status_code == 200 and ready.json().get("status") not in ("starting", None):
                    return
            time.sleep(0.1)
        raise RuntimeError(f"gateway not ready in {STARTUP_TIMEOUT:g}s: {self.stderr_path.read_text()[-3000:]}")

    def ensure_running(self) -> None:
        """A case before may have killed the gateway (a finding it reported): start it again for the next."""
        if self.proc is None or self.proc.poll() is not None:
            self.launch()
            for peer in self.peers.values():
                peer.session = None

    def stop(self) -> None:
        for peer in self.peers.values():
            peer.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self._kill_tree(self.proc.pid)
        for proc in self.http_backends.values():
            proc.kill()
            proc.wait(5)
        if self.sink is not None:
            self.sink.close()

    @staticmethod
    def _kill_tree(pid: int) -> None:
        with contextlib.suppress(psutil.Error):
            parent = psutil.Process(pid)
            for child in parent.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    child.kill()
            parent.kill()
            parent.wait(5)

    # -- scripting and observation --------------------------------------------------------------------------------

    def set_evil(self, control: dict[str, Any]) -> None:
        """Script evil and evil_http (read on their next message); written atomically."""
        scratch = self.control_path.with_suffix(".tmp")
        scratch.write_text(json.dumps(control))
        scratch.replace(self.control_path)

    def received(self, server: str) -> list[dict[str, Any]]:
        """What a backend received so far: its recorded lines/HTTP requests (not its start entry)."""
        path = self.record_path(server)
        if not path.exists():
            return []
        entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [entry for entry in entries if entry.get("kind") != "start"]

    def calls_received(self, server: str) -> list[dict[str, Any]]:
        """The tools/call messages a backend received."""
        calls = []
        for entry in self.received(server):
            text = entry.get("line") or entry.get("body") or ""
            with contextlib.suppress(ValueError):
                message = json.loads(text)
                if isinstance(message, dict) and message.get("method") == "tools/call":
                    calls.append(message)
        return calls

    def starts(self, server: str) -> list[dict[str, Any]]:
        path = self.record_path(server)
        if not path.exists():
            return []
        return [e for e in map(json.loads, path.read_text().splitlines()) if e.get("kind") == "start"]

    def audit_rows(self, after_id: int = 0) -> list[dict[str, Any]]:
        if not self.registry.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{self.registry}?mode=ro", uri=True, timeout=5)) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM audit_log WHERE id > ? ORDER BY id", (after_id,)).fetchall()
        return [dict(row) for row in rows]

    def wait_audit(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 3.0) -> list[dict[str, Any]]:
        """The audit records since the last case matching `predicate`, once there is one (or [] at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [row for row in self.audit_rows(self.audit_mark) if predicate(row)]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.1)

    def pin(self, server: str, tool: str) -> dict[str, Any] | None:
        with contextlib.closing(sqlite3.connect(f"file:{self.registry}?mode=ro", uri=True, timeout=5)) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM pins WHERE server = ? AND tool = ?", (server, tool)).fetchone()
        return None if row is None else dict(row)

    def last_audit_id(self) -> int:
        rows = self.audit_rows()
        return int(rows[-1]["id"]) if rows else 0

    def gateway_process(self) -> psutil.Process:
        assert self.proc is not None
        return psutil.Process(self.proc.pid)

    def canaries(self) -> set[str]:
        return set(STATIC_CANARIES) | set(self.keys.values())

    def peer(self, name: str) -> Peer:
        return self.peers[name]

    def fresh_peer(self, name: str, *, key: str | None = None, local_address: str | None = None) -> Peer:
        """Another client of the same principal (its own connection and session)."""
        return Peer(self, name, self.keys.get(name) if key is None else key, local_address)

    @contextlib.contextmanager
    def evil_scripted(self, control: dict[str, Any]) -> Iterator[None]:
        self.set_evil(control)
        try:
            yield
        finally:
            self.set_evil(self.evil_control)


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def new_nonce() -> str:
    return uuid.uuid4().hex


def assert_error(message: dict[str, Any], name: str, reason: str | None = None, *, alt: tuple[str, ...] = ()) -> None:
    """`message` is a JSON-RPC error with the code of `name` (or of one of `alt`) and, when given, `data.reason`."""
    assert "error" in message, f"expected {name}, got {json.dumps(message)[:500]}"
    error = message["error"]
    codes = {ERROR_CODES[n] for n in (name, *alt)}
    assert error.get("code") in codes, f"expected {name} {codes}, got {json.dumps(error)[:500]}"
    if reason is not None:
        data = error.get("data")
        assert isinstance(data, dict) and data.get("reason") == reason, f"expected reason {reason}: {error}"
        assert "request_id" in data, f"error.data lacks request_id: {error}"
