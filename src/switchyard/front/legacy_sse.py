"""The deprecated HTTP+SSE transport (2024-11-05) for old clients: `GET /sse` opens a stream whose first event
names the endpoint to POST messages to; every answer and notification travels on that one stream."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from switchyard.errors import GatewayError
from switchyard.front.replay import sse_event
from switchyard.front.session import Session
from switchyard.gateway import Gateway
from switchyard.pipeline import Client
from switchyard.protocol import jsonrpc
from switchyard.protocol.jsonrpc import Message

KEEP_ALIVE = 15.0


class SseSession:
    def __init__(self, gateway: Gateway, session_id: str) -> None:
        self.id = session_id
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.session = Session(gateway, Client("anonymous", "sse", session_id), self.outbox.put_nowait)
        self.tasks: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        self.session.close()
        for task in self.tasks:
            task.cancel()


class LegacySseEndpoint:
    def __init__(self, gateway: Gateway, messages_path: str) -> None:
        self.gateway = gateway
        self.messages_path = messages_path
        self.sessions: dict[str, SseSession] = {}

    def stream(self, request: Request) -> Response:
        sse = SseSession(self.gateway, secrets.token_urlsafe(32))
        self.sessions[sse.id] = sse

        async def events() -> AsyncIterator[bytes]:
            try:
                yield f"event: endpoint\ndata: {self.messages_path}?session_id={sse.id}\n\n".encode()
                while True:
                    try:
                        message = await asyncio.wait_for(sse.outbox.get(), KEEP_ALIVE)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    yield sse_event(message)
            finally:
                self.sessions.pop(sse.id, None)
                sse.close()

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    async def post(self, request: Request, body: bytes) -> Response:
        sse = self.sessions.get(request.query_params.get("session_id", ""))
        if sse is None:
            return Response("Session not found (open GET /sse first)", status_code=404)
        try:
            message = jsonrpc.decode(body)
        except GatewayError as exc:
            sse.outbox.put_nowait(jsonrpc.error(None, exc.to_jsonrpc()))
            return Response(status_code=400)

        async def answer() -> None:
            response = await sse.session.handle(message, sse.outbox.put_nowait)
            if response is not None:
                sse.outbox.put_nowait(response)

        task = asyncio.ensure_future(answer())
        sse.tasks.add(task)
        task.add_done_callback(sse.tasks.discard)
        return Response("Accepted", status_code=202)

    def close(self) -> None:
        for sse in self.sessions.values():
            sse.close()
        self.sessions.clear()
