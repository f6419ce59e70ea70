"""The deprecated HTTP+SSE transport (2024-11-05) for old clients: `GET /sse` opens a stream whose first event
names the endpoint to POST messages to; every answer and notification travels on that one stream.

Both requests are authenticated like `/mcp`'s, and a stream belongs to the principal that opened it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from switchyard.errors import GatewayError, Reason
from switchyard.front.auth import Authenticator, AuthRefused
from switchyard.front.http_request import audit_refusal, caller, new_session_id, read_body, rejection_response
from switchyard.front.intake import Rejection, read_message
from switchyard.front.replay import sse_event
from switchyard.front.session import Session
from switchyard.gateway import Gateway
from switchyard.pipeline import Client
from switchyard.protocol.jsonrpc import Message

if TYPE_CHECKING:
    from switchyard.front.auth import Identity

KEEP_ALIVE = 15.0


class SseSession:
    def __init__(self, gateway: Gateway, client: Client, key_id: str | None) -> None:
        assert client.session_id is not None
        self.id = client.session_id
        self.key_id = key_id
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.session = Session(gateway, client, self.outbox.put_nowait)
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()

    def close(self) -> None:
        self.session.close()
        for task in self.tasks:
            task.cancel()
        self.closed.set()


class LegacySseEndpoint:
    def __init__(self, gateway: Gateway, messages_path: str, auth: Authenticator, max_body: int) -> None:
        self.gateway = gateway
        self.messages_path = messages_path
        self.auth = auth
        self.max_body = max_body
        self.sessions: dict[str, SseSession] = {}

    async def stream(self, request: Request) -> Response:
        try:
            identity = await self.auth.identify(request.headers)
        except AuthRefused as refusal:
            audit_refusal(self.gateway, request, refusal.reason, transport="sse")
            return self.auth.challenge(refusal)
        try:
            base = caller(self.gateway, request, identity, "sse")
        except Rejection as rejection:
            audit_refusal(self.gateway, request, rejection.audit_reason, identity.principal, transport="sse")
            return rejection_response(rejection)
        client = Client(base.principal, "sse", new_session_id(), base.profile, base.role, base.remote)
        sse = SseSession(self.gateway, client, identity.key_id)
        self.sessions[sse.id] = sse

        async def events() -> AsyncIterator[bytes]:
            try:
                yield f"event: endpoint\ndata: {self.messages_path}?session_id={sse.id}\n\n".encode()
                while not sse.closed.is_set():
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

    async def post(self, request: Request) -> Response:
        try:
            identity = await self.auth.identify(request.headers)
        except AuthRefused as refusal:
            audit_refusal(self.gateway, request, refusal.reason, transport="sse")
            return self.auth.challenge(refusal)
        try:
            sse = self._session(request, identity)
            message = read_message(await read_body(request, self.max_body))
        except Rejection as rejection:
            audit_refusal(
                self.gateway,
                request,
                rejection.audit_reason,
                identity.principal,
                transport="sse",
                method=rejection.method,
                request_id=rejection.request_id,
            )
            return rejection_response(rejection)

        async def answer() -> None:
            response = await sse.session.handle(message, sse.outbox.put_nowait)
            if response is not None:
                sse.outbox.put_nowait(response)

        task = asyncio.ensure_future(answer())
        sse.tasks.add(task)
        task.add_done_callback(sse.tasks.discard)
        return Response("Accepted", status_code=202)

    def _session(self, request: Request, identity: Identity) -> SseSession:
        sse = self.sessions.get(request.query_params.get("session_id", ""))
        if sse is None or sse.session.client.principal != identity.principal:
            reason = "unknown_session" if sse is None else "session_principal_mismatch"
            error = GatewayError(Reason.INVALID_REQUEST, "Session not found (open GET /sse first)")
            raise Rejection(404, error, audit_reason=reason)
        return sse

    def revoke(self, key_ids: set[str]) -> None:
        for sse in [s for s in self.sessions.values() if s.key_id in key_ids]:
            self.sessions.pop(sse.id, None)
            sse.close()

    def close(self) -> None:
        for sse in self.sessions.values():
            sse.close()
        self.sessions.clear()
