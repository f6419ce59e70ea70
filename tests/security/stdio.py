"""The gateway's stdio front for the stdio half of the cases: `switchyard serve --stdio` with a world's config and
registry, spoken to in raw bytes (a case sends what no SDK client would), one JSON-RPC line at a time."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.security.world import PROTOCOL, World


class StdioGateway:
    def __init__(self, world: World, config: Path | None = None) -> None:
        self.world = world
        self.stderr_path = world.root / f"stdio-{id(self)}.stderr"
        argv = [sys.executable, "-m", "switchyard", "serve", "--stdio", "-c", str(config or world.config_path)]
        argv += ["--registry", str(world.registry), "--log-level", "debug"]
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            argv, env=world.environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.stdout: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        self._ids = 1000

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout.append(line)
            self.lines.put(line)
        self.lines.put(b"")

    def drain(self) -> None:
        """Drop lines a case before left unread (answers that came after it stopped reading)."""
        while not self.lines.empty():
            self.lines.get_nowait()

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: Any) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def read(self, timeout: float = 10.0) -> Any:
        """The next line on stdout, parsed (it must be JSON)."""
        line = self.lines.get(timeout=timeout)
        assert line, f"the stdio gateway closed stdout; stderr: {self.stderr_text()[-2000:]}"
        return json.loads(line)

    def read_response(self, request_id: Any, timeout: float = 10.0) -> dict[str, Any]:
        """The response to `request_id`, skipping notifications."""
        while True:
            message = self.read(timeout)
            if isinstance(message, dict) and "method" not in message and message.get("id") == request_id:
                return message
            assert isinstance(message, dict) and "method" in message, f"unexpected line: {message!r}"

    def request(self, method: str, params: dict[str, Any] | None = None, timeout: float = 10.0) -> dict[str, Any]:
        self._ids += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._ids, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.read_response(self._ids, timeout)

    def call(self, name: str, arguments: dict[str, Any] | None = None, timeout: float = 10.0) -> dict[str, Any]:
        return self.request("tools/call", {"name": name, "arguments": arguments or {}}, timeout)

    def initialize(self) -> dict[str, Any]:
        params = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "stdio-case", "version": "1"}}
        response = self.request("initialize", params, timeout=60)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return response

    def assert_alive(self) -> None:
        """INV-1 on the stdio front: a ping is answered within 2 s."""
        assert self.proc.poll() is None, f"the stdio gateway exited: {self.stderr_text()[-2000:]}"
        assert self.request("ping", timeout=2).get("result") == {}

    def stderr_text(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stdout_text(self) -> str:
        return b"".join(self.stdout).decode("utf-8", "replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                World._kill_tree(self.proc.pid)
        self._stderr.close()


@contextlib.contextmanager
def stdio_gateway(world: World, config: Path | None = None) -> Iterator[StdioGateway]:
    """A stdio gateway, initialized; closed (and its output kept for the secret scan by the caller) after."""
    gateway = StdioGateway(world, config)
    try:
        gateway.initialize()
        yield gateway
    finally:
        gateway.close()
