"""Message streams to one backend: stdio subprocess, Streamable HTTP, legacy HTTP+SSE.

A transport is an async context manager yielding a `MessageStream`: `send()` one JSON-RPC message (a dict),
iterate to receive them. stdio is framed here as raw newline-delimited JSON and Streamable HTTP relays raw
JSON bodies and SSE events (`http_transport`): the hot path never builds models. Only the rarely used legacy
HTTP+SSE transport reuses the official SDK's client and converts at the edge.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

import anyio
import orjson

from switchyard.config import ServerConfig
from switchyard.errors import GatewayError, Reason
from switchyard.protocol.jsonrpc import Message, encode
from switchyard.upstream import process
from switchyard.upstream.http_transport import open_streamable_http

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
STDERR_TAIL_LINES = 20


class MessageStream(Protocol):
    protocol_version: str | None  # the era the backend negotiated, for transports that mirror it in headers

    async def send(self, message: Message) -> None: ...

    def __aiter__(self) -> AsyncIterator[Message]: ...

    def exit_reason(self) -> str:
        """Why the stream ended, for error messages (exit code, last stderr line)."""
        ...


class StdioStream:
    def __init__(
        self,
        name: str,
        proc: asyncio.subprocess.Process,
        stderr_tail: collections.deque[str],
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self._name = name
        self._proc = proc
        self._stderr_tail = stderr_tail
        self._limit = max_message_bytes
        self._log = logging.getLogger(f"switchyard.backend.{name}")
        self.protocol_version: str | None = None
        self.failure: GatewayError | None = None  # why the gateway itself ended the stream, if it did

    async def send(self, message: Message) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        if stdin.is_closing():
            raise ConnectionError(f"backend '{self._name}' stdin is closed")
        stdin.write(encode(message) + b"\n")
        await stdin.drain()

    async def __aiter__(self) -> AsyncIterator[Message]:
        stdout = self._proc.stdout
        assert stdout is not None
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # a line over the limit (read no further): the stream is unusable from here on
                self._log.error("message over %d bytes on stdout; closing", self._limit)
                self.failure = GatewayError(
                    Reason.RESPONSE_TOO_LARGE,
                    f"Backend '{self._name}' sent a message over {self._limit} bytes; its connection was dropped",
                    server=self._name,
                    limit_bytes=self._limit,
                )
                return
            if not line:
                # Reap the process briefly so that exit_reason() can name its exit code.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._proc.wait(), 0.5)
                return
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                self._log.warning("ignored non-JSON output on stdout: %.200r", line)
                continue
            if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
                self._log.warning("ignored a non-JSON-RPC message on stdout: %.200r", line)
                continue
            yield message

    def exit_reason(self) -> str:
        code = self._proc.returncode
        status = "is still running" if code is None else f"exited with code {code}"
        last = self._stderr_tail[-1] if self._stderr_tail else ""
        return f"{status}; last stderr: {last}" if last else status


async def _drain_stderr(name: str, stream: asyncio.StreamReader, tail: collections.deque[str]) -> None:
    log = logging.getLogger(f"switchyard.backend.{name}")
    while line := await stream.readline():
        text = line.decode("utf-8", "replace").rstrip()
        if text:
            tail.append(text)
            log.info("%s", text)


@asynccontextmanager
async def open_stdio(config: ServerConfig, max_message_bytes: int = MAX_MESSAGE_BYTES) -> AsyncIterator[MessageStream]:
    assert config.command is not None
    proc = await process.spawn(
        config.command, config.args, env=config.env, cwd=config.cwd, stdout_limit=max_message_bytes
    )
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    assert proc.stderr is not None
    async with anyio.create_task_group() as tg:
        tg.start_soon(_drain_stderr, config.name, proc.stderr, tail)
        try:
            yield StdioStream(config.name, proc, tail, max_message_bytes)
        finally:
            with anyio.CancelScope(shield=True):
                await process.terminate(proc)
                # stderr reaches EOF once every holder of the pipe is gone.
                with anyio.move_on_after(1):
                    await proc.wait()
            tg.cancel_scope.cancel()


def open_sse(config: ServerConfig, max_message_bytes: int) -> contextlib.AbstractAsyncContextManager[MessageStream]:
    # Imported on use: the legacy transport goes through the SDK, which the other transports never load.
    # (The SDK reads what it reads: the message size cap applies to the stdio and Streamable HTTP transports.)
    from switchyard.upstream.sse_transport import open_sse as open_legacy_sse

    return open_legacy_sse(config)


Opener = Callable[[ServerConfig, int], contextlib.AbstractAsyncContextManager[MessageStream]]

OPENERS: dict[str, Opener] = {"stdio": open_stdio, "http": open_streamable_http, "sse": open_sse}


def open_transport(
    config: ServerConfig, max_message_bytes: int = MAX_MESSAGE_BYTES
) -> contextlib.AbstractAsyncContextManager[MessageStream]:
    """A stream to the backend; a message over `max_message_bytes` (decoded) ends it with response_too_large."""
    return OPENERS[config.type](config, max_message_bytes)
