"""SSE response streams that a client can resume after a dropped connection (2025-11-25, `Last-Event-ID`).

Every event of a stream is kept until the stream ends and a while after (bounded per session), with an id
`<stream>/<n>`; a GET carrying `Last-Event-ID` replays what came after it and follows the stream to its end.
A stream starts with a priming event (an id, a `retry` hint, no data), as the spec recommends.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
from collections.abc import AsyncIterator

from switchyard.protocol import jsonrpc
from switchyard.protocol.jsonrpc import Message

RETRY_MS = 1000  # how soon a client should reconnect to a dropped stream
KEPT_STREAMS = 32  # finished streams a session keeps for resumption


def sse_event(message: Message, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n".encode() if event_id is not None else b""
    return head + b"event: message\ndata: " + jsonrpc.encode(message) + b"\n\n"


class ReplayableStream:
    def __init__(self) -> None:
        self.id = secrets.token_urlsafe(12)
        self.events: list[bytes] = []
        self.messages = 0
        self.done = False
        self._changed = asyncio.Event()

    def append(self, message: Message) -> None:
        if self.done:
            return
        self.messages += 1
        self.events.append(sse_event(message, f"{self.id}/{len(self.events) + 1}"))
        self._changed.set()

    def finish(self, final: Message) -> None:
        self.append(final)
        self.done = True
        self._changed.set()

    async def changed(self) -> None:
        await self._changed.wait()

    async def follow(self, after: int = 0, *, prime: bool = False) -> AsyncIterator[bytes]:
        """The events after number `after`, then the rest as they come, until the stream ends."""
        if prime:
            yield f"id: {self.id}/0\nretry: {RETRY_MS}\ndata: \n\n".encode()
        index = after
        while True:
            while index < len(self.events):
                yield self.events[index]
                index += 1
            if self.done:
                return
            self._changed.clear()
            await self._changed.wait()


class StreamArchive:
    """A session's resumable streams, the newest finished ones kept."""

    def __init__(self) -> None:
        self._streams: collections.OrderedDict[str, ReplayableStream] = collections.OrderedDict()

    def add(self, stream: ReplayableStream) -> None:
        self._streams[stream.id] = stream
        finished = [sid for sid, s in self._streams.items() if s.done]
        for sid in finished[: max(0, len(finished) - KEPT_STREAMS)]:
            del self._streams[sid]

    def resume(self, last_event_id: str) -> tuple[ReplayableStream, int] | None:
        stream_id, _, number = last_event_id.partition("/")
        stream = self._streams.get(stream_id)
        if stream is None or not number.isdigit():
            return None
        return stream, int(number)
