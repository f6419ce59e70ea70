"""The stdio front: one client on this process's stdin/stdout, newline-delimited JSON-RPC.

Nothing but MCP messages is ever written to stdout; logs go to stderr. EOF on stdin ends the front (and, in
`switchyard serve --stdio`, the gateway). A line that is not one JSON-RPC message (bad JSON or UTF-8, a batch,
an oversized line) gets one error line, is audited, and the loop reads on. The stdio client is the local user
who started the process: no credentials.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO

import anyio
import anyio.to_thread

from switchyard.errors import GatewayError, Reason
from switchyard.front.intake import Rejection, read_message, refusal_record
from switchyard.front.session import Session
from switchyard.gateway import Gateway
from switchyard.pipeline import Client
from switchyard.protocol import jsonrpc

EOF_GRACE = 5.0


class _FileWriter:
    """Stands in for a pipe transport when stdout is a regular file (writes to files do not block)."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._closed = False

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True


async def _open_pipes(stdin: BinaryIO, stdout: BinaryIO, limit: int) -> tuple[asyncio.StreamReader, Any]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    except ValueError:  # a regular file: read it whole, off the event loop
        reader.feed_data(await anyio.to_thread.run_sync(stdin.read))
        reader.feed_eof()
    try:
        transport, _ = await loop.connect_write_pipe(asyncio.Protocol, stdout)
    except ValueError:
        return reader, _FileWriter(stdout)
    return reader, transport


async def serve_stdio(gateway: Gateway, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    limit = gateway.config.gateway.max_request_bytes
    reader, writer = await _open_pipes(stdin or sys.stdin.buffer, stdout or sys.stdout.buffer, limit)

    def send(message: dict[str, Any]) -> None:
        if not writer.is_closing():
            writer.write(jsonrpc.encode(message) + b"\n")

    session = Session(gateway, Client(principal="stdio", transport="stdio"), send)

    def refuse(rejection: Rejection) -> None:
        """One error line for a message the front cannot take, audited; the read loop goes on."""
        send(rejection.message())
        gateway.audit.submit(
            refusal_record(
                rejection.audit_reason,
                principal="stdio",
                transport="stdio",
                method=rejection.method or "stdio",
                request_id=rejection.request_id,
            )
        )

    async def respond(message: dict[str, Any]) -> None:
        response = await session.handle(message)
        if response is not None:
            send(response)

    # Plain asyncio tasks, owned by this set: an anyio task group costs ~50 µs more per request here.
    in_flight: set[asyncio.Task[None]] = set()
    try:
        async for line in _lines(reader, limit, refuse):
            try:
                message = read_message(line)
            except Rejection as rejection:
                refuse(rejection)
                continue
            if "method" in message and "id" in message:
                task = asyncio.create_task(respond(message))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            else:
                await respond(message)
        # The client is gone: let in-flight requests finish briefly (a piped one-shot request wants its
        # answer), then cancel the rest.
        if in_flight:
            await asyncio.wait(set(in_flight), timeout=EOF_GRACE)
    finally:
        for task in in_flight:
            task.cancel()
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)
        session.close()
        writer.close()


async def _lines(reader: asyncio.StreamReader, limit: int, refuse: Callable[[Rejection], None]) -> AsyncIterator[bytes]:
    """The non-blank lines of the input until EOF. A line over the size limit is refused once and skipped up to
    its newline, without ever holding more than the limit: the next line is read normally."""
    skipping = False
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:  # EOF: a last line may lack its newline
            if exc.partial.strip() and not skipping:
                yield exc.partial
            return
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)  # drop what is buffered of the long line
            if not skipping:
                text = f"Message too large: the limit is {limit} bytes per line"
                refuse(Rejection(413, GatewayError(Reason.REQUEST_TOO_LARGE, text, limit_bytes=limit)))
                skipping = True
            continue
        if skipping:
            skipping = False  # this was the long line's tail
        elif line.strip():
            yield line
