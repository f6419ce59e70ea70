"""Helpers shared by all test folders (plain functions; the fixtures live in tests/conftest.py).

Paths and argv builders for the real backends used in tests, a free TCP port, and the process-leak
detection used by the autouse guard in conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures"
NODE_FIXTURES = FIXTURES_DIR / "node"
NODE_MODULES = NODE_FIXTURES / "node_modules"
LOCAL_NODE = NODE_MODULES / "node" / "bin" / "node"
FAULTY_SERVER = FIXTURES_DIR / "servers" / "faulty.py"
INSTALL_NODE_FIXTURES = REPO_ROOT / "scripts" / "install-node-fixtures.sh"

_MCP = NODE_MODULES / "@modelcontextprotocol"
EVERYTHING_JS = _MCP / "server-everything" / "dist" / "index.js"
FILESYSTEM_JS = _MCP / "server-filesystem" / "dist" / "index.js"
MEMORY_JS = _MCP / "server-memory" / "dist" / "index.js"
INSPECTOR_JS = _MCP / "inspector" / "clients" / "launcher" / "build" / "index.js"
CONFORMANCE_JS = _MCP / "conformance" / "dist" / "index.js"


# --- Node and the real servers -------------------------------------------------------------------


def node_bin() -> str:
    """The local Node 22 from tests/fixtures/node (npm package `node`), else `node` on PATH."""
    if os.access(LOCAL_NODE, os.X_OK):
        return str(LOCAL_NODE)
    return shutil.which("node") or "node"


def node_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment whose PATH starts with the local Node 22 (for tools that spawn `node`)."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.pathsep.join([str(LOCAL_NODE.parent), env.get("PATH", "")])
    return env


def time_server_argv() -> list[str]:
    """PyPI mcp-server-time (SDK 2.x: 2026-07-28 with a modern client, also answers `initialize`)."""
    return [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]


def everything_argv(transport: str = "stdio") -> list[str]:
    """npm server-everything (legacy era). transport: stdio | streamableHttp (env PORT) | sse."""
    return [node_bin(), str(EVERYTHING_JS), transport]


def filesystem_argv(root: str | os.PathLike[str], *more_roots: str | os.PathLike[str]) -> list[str]:
    """npm server-filesystem (legacy era) allowed to touch `root` (and `more_roots`) only."""
    return [node_bin(), str(FILESYSTEM_JS), os.fspath(root), *map(os.fspath, more_roots)]


def memory_argv() -> list[str]:
    """npm server-memory (legacy era). Pass env=memory_env(path), else it writes into node_modules."""
    return [node_bin(), str(MEMORY_JS)]


def memory_env(store: str | os.PathLike[str], base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["MEMORY_FILE_PATH"] = os.fspath(store)
    return env


def faulty_argv(*flags: str) -> list[str]:
    """tests/fixtures/servers/faulty.py, e.g. faulty_argv("--mode", "hang-on-call", "--tools", "120")."""
    return [sys.executable, str(FAULTY_SERVER), *flags]


def inspector_argv(*args: str) -> list[str]:
    """MCP Inspector CLI: inspector_argv(*server_argv, "--method", "tools/list") (or a URL + --transport)."""
    return [node_bin(), str(INSPECTOR_JS), "--cli", *args]


def conformance_argv(*args: str) -> list[str]:
    """The conformance suite (needs Node 22: run it with env=node_env())."""
    return [node_bin(), str(CONFORMANCE_JS), *args]


# --- a raw stdio JSON-RPC client -------------------------------------------------------------------

STDIO_TIMEOUT = 5.0


class RawStdioClient:
    """A stdio MCP server process spoken to in raw newline-delimited JSON-RPC (no SDK)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.garbage: list[bytes] = []  # stdout lines that were not JSON-RPC
        self._ids = 0

    async def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self.proc.stdin.drain()

    async def read_message(self, wait: float = STDIO_TIMEOUT) -> dict[str, Any] | None:
        """The next JSON-RPC message on stdout (other lines go to .garbage); None at EOF."""
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), wait)
            if not line:
                return None
            try:
                message = json.loads(line)
            except ValueError:
                self.garbage.append(line)
                continue
            if isinstance(message, dict) and message.get("jsonrpc") == "2.0":
                return message
            self.garbage.append(line)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, wait: float = STDIO_TIMEOUT
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Send a request; return (response, notifications received before it)."""
        request_id = await self.send_request(method, params)
        notes: list[dict[str, Any]] = []
        while True:
            message = await self.read_message(wait)
            assert message is not None, f"stdout closed before the answer to {method}"
            if message.get("id") == request_id and "method" not in message:
                return message, notes
            notes.append(message)

    async def send_request(self, method: str, params: dict[str, Any] | None = None) -> int:
        self._ids += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._ids, "method": method}
        if params is not None:
            message["params"] = params
        await self.send(message)
        return self._ids

    async def tool(self, name: str, arguments: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        response, _ = await self.call("tools/call", {"name": name, "arguments": arguments or {}}, **kw)
        return response

    async def initialize(self, version: str = "2025-11-25", wait: float = STDIO_TIMEOUT) -> dict[str, Any]:
        """Legacy handshake: initialize + notifications/initialized; returns the initialize result."""
        params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
        response, _ = await self.call("initialize", params, wait=wait)
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return response["result"]

    async def silence(self, seconds: float) -> list[dict[str, Any]]:
        """Messages that arrive within `seconds` (expected: none)."""
        received: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while (message := await self.read_message(seconds)) is not None:
                    received.append(message)
        return received

    async def close_stdin_and_wait(self, wait: float = STDIO_TIMEOUT) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return await asyncio.wait_for(self.proc.wait(), wait)

    async def stderr_text(self) -> str:
        assert self.proc.stderr is not None
        return (await asyncio.wait_for(self.proc.stderr.read(), STDIO_TIMEOUT)).decode()


@contextlib.asynccontextmanager
async def raw_stdio(
    argv: list[str], env: dict[str, str] | None = None, cwd: str | os.PathLike[str] | None = None
) -> AsyncIterator[RawStdioClient]:
    """Start `argv` with piped stdin/stdout/stderr; on exit close stdin, wait, then kill (asyncio only).

    stderr is not drained: fine for the small amounts test servers write."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
        limit=16 * 1024 * 1024,
    )
    try:
        yield RawStdioClient(proc)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), STDIO_TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host` (bind to 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --- process-leak detection ------------------------------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36


def become_child_subreaper() -> bool:
    """prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants get re-parented to this process.

    Returns False where that is not available (not Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(err)}")
    return True


@dataclass(frozen=True)
class ProcessId:
    """A pid plus its start time, so a recycled pid is never mistaken for the same process."""

    pid: int
    create_time: float

    @classmethod
    def of(cls, proc: psutil.Process) -> ProcessId:
        return cls(proc.pid, proc.create_time())


@dataclass(frozen=True)
class LeakedProcess:
    pid: int
    cmdline: str
    status: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.status}): {self.cmdline}"


def descendants(root_pid: int | None = None) -> set[ProcessId]:
    """All live descendants of `root_pid` (default: this process), zombies included."""
    result: set[ProcessId] = set()
    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return result
    for child in children:
        with contextlib.suppress(psutil.Error):
            result.add(ProcessId.of(child))
    return result


def _process(pid: ProcessId) -> psutil.Process | None:
    """The process if it still exists and is the same one (same start time)."""
    try:
        proc = psutil.Process(pid.pid)
        if proc.create_time() != pid.create_time:
            return None
        return proc
    except psutil.Error:
        return None


def reap_zombies(pids: Iterable[ProcessId]) -> list[int]:
    """waitpid(WNOHANG) each of `pids` that is a zombie child of this process; returns the reaped.

    Only the given pids: a blanket waitpid(-1) would steal exit codes from Popen/asyncio objects
    of still-running fixtures."""
    reaped = []
    me = os.getpid()
    for pid in pids:
        proc = _process(pid)
        if proc is None:
            continue
        try:
            if proc.ppid() != me or proc.status() != psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:
            continue
        while True:
            try:
                done, _ = os.waitpid(pid.pid, os.WNOHANG)
            except ChildProcessError:
                break  # someone else reaped it
            except InterruptedError:
                continue
            if done:
                reaped.append(pid.pid)
            break
    return reaped


def _describe(pid: ProcessId) -> LeakedProcess | None:
    proc = _process(pid)
    if proc is None:
        return None
    try:
        status = proc.status()
        if status == psutil.STATUS_ZOMBIE:
            return None
        cmdline = " ".join(proc.cmdline()) or proc.name()
    except psutil.Error:
        return None
    return LeakedProcess(pid.pid, cmdline, status)


def find_leaked_processes(before: set[ProcessId], grace: float = 5.0) -> list[LeakedProcess]:
    """Descendants that did not exist in `before` and are still alive after up to `grace` seconds.

    Zombie children among them are reaped (they have exited; nobody else will wait for them).
    Processes spawned during the test by a process that already existed (a long-lived server of a
    session- or module-scoped fixture) belong to that process and are not counted."""
    deadline = time.monotonic() + grace
    while True:
        new = descendants() - before
        reap_zombies(new)
        for old in before:
            if new and _process(old) is not None:
                new -= descendants(old.pid)
        leaked = [leak for pid in sorted(new, key=lambda p: p.pid) if (leak := _describe(pid))]
        if not leaked or time.monotonic() >= deadline:
            return leaked
        time.sleep(0.05)


def kill_processes(pids: Iterable[int], timeout: float = 3.0) -> None:
    """SIGKILL exactly these pids (never by name), then reap the ones that are our children."""
    targets: set[ProcessId] = set()
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            targets.add(ProcessId.of(proc))
            proc.kill()
    deadline = time.monotonic() + timeout
    while targets and time.monotonic() < deadline:
        reap_zombies(targets)
        targets = {pid for pid in targets if _describe(pid) is not None or _is_our_zombie(pid)}
        if targets:
            time.sleep(0.02)


def _is_our_zombie(pid: ProcessId) -> bool:
    proc = _process(pid)
    if proc is None:
        return False
    try:
        return proc.status() == psutil.STATUS_ZOMBIE and proc.ppid() == os.getpid()
    except psutil.Error:
        return False


# --- PostgreSQL ------------------------------------------------------------------------------------

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def postgres_schema(prefix: str) -> AsyncIterator[str]:
    """A fresh schema in the machine's PostgreSQL (dropped afterwards); yields its name.

    Unreachable PostgreSQL fails the test under CI (the service is part of the machine) and skips it elsewhere."""
    import asyncpg
    import pytest

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(PG_DSN, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {PG_DSN} unreachable: {exc!r}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield schema
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
