"""The Streamable HTTP front (`/mcp`), the legacy HTTP+SSE one (`/sse`), and health endpoints beside them.

Sessions get cryptographically random ids. A request's response is JSON unless something related to it
(progress, a backend's question to the client) must reach the client first: then the response becomes an
SSE stream, decided lazily, so the common call pays nothing for streaming. Unsolicited messages go to the
session's GET stream.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import anyio
import anyio.abc
import uvicorn
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from switchyard.errors import GatewayError, Reason
from switchyard.front.legacy_sse import LegacySseEndpoint
from switchyard.front.replay import ReplayableStream, StreamArchive, sse_event
from switchyard.front.session import Session
from switchyard.gateway import Gateway
from switchyard.pipeline import Client
from switchyard.protocol import jsonrpc, modern
from switchyard.protocol.jsonrpc import Message
from switchyard.protocol.versions import LEGACY_VERSIONS, MODERN_VERSIONS

SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"
UNSOLICITED_BUFFER = 1000
SESSION_IDLE_TIMEOUT = 30 * 60.0  # a session nobody used for this long is closed (clients often never DELETE)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
_SSE_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


class HttpSession:
    """A session plus the queue behind its GET stream."""

    def __init__(self, gateway: Gateway, session_id: str) -> None:
        self.id = session_id
        self.unsolicited: collections.deque[Message] = collections.deque(maxlen=UNSOLICITED_BUFFER)
        self.wakeup = asyncio.Event()
        self.session = Session(gateway, Client("anonymous", "http", session_id), self._push)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.archive = StreamArchive()
        self.streams = 0  # open GET streams
        self.last_used = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.tasks or self.streams else time.monotonic() - self.last_used

    def _push(self, message: Message) -> None:
        self.unsolicited.append(message)
        self.wakeup.set()

    def close(self) -> None:
        self.session.close()
        for task in self.tasks:
            task.cancel()
        self.wakeup.set()


def loopback_security(host: str, extra_hosts: Iterable[str], extra_origins: Iterable[str]) -> TransportSecuritySettings:
    """DNS-rebinding protection: on for loopback binds, where a browser page is the threat."""
    if host not in LOOPBACK_HOSTS:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = [h for name in ("127.0.0.1", "localhost", "[::1]") for h in (name, f"{name}:*")]
    origins = [f"http://{name}:*" for name in ("127.0.0.1", "localhost", "[::1]")]
    origins += [f"http://{name}" for name in ("127.0.0.1", "localhost", "[::1]")]
    return TransportSecuritySettings(
        allowed_hosts=hosts + list(extra_hosts), allowed_origins=origins + list(extra_origins)
    )


class McpEndpoint:
    def __init__(
        self, gateway: Gateway, security: TransportSecuritySettings, max_body: int = DEFAULT_MAX_REQUEST_BODY_SIZE
    ) -> None:
        self.gateway = gateway
        self.security = TransportSecurityMiddleware(security)
        self.max_body = max_body
        self.sessions: dict[str, HttpSession] = {}

    async def handle(self, request: Request) -> Response:
        refusal = await self.security.validate_request(request, is_post=request.method == "POST")
        if refusal is not None:
            return refusal
        if request.method == "POST":
            return await self.post(request)
        if request.headers.get(VERSION_HEADER) in MODERN_VERSIONS:
            return _error_response(405, Reason.METHOD_NOT_FOUND, f"{request.method} is not part of 2026-07-28")
        if request.method == "GET":
            return self.get(request)
        return self.delete(request)

    def _session(self, request: Request) -> HttpSession | Response:
        session_id = request.headers.get(SESSION_HEADER)
        if session_id is None:
            return _error_response(400, Reason.INVALID_REQUEST, "Bad Request: missing Mcp-Session-Id header")
        session = self.sessions.get(session_id)
        if session is None:
            return _error_response(404, Reason.INVALID_REQUEST, "Session not found (it ended or never existed)")
        return session

    async def post(self, request: Request) -> Response:
        accept = request.headers.get("accept", "*/*")
        if not any(kind in accept for kind in ("application/json", "text/event-stream", "*/*")):
            return _error_response(406, Reason.INVALID_REQUEST, "Not Acceptable: accept application/json")
        try:
            message = jsonrpc.validate(jsonrpc.decode(await _read_body(request, self.max_body)))
        except GatewayError as exc:
            status = 413 if isinstance(exc, _TooLarge) else 400
            return JSONResponse(jsonrpc.error(None, exc.to_jsonrpc()), status_code=status)
        if modern.is_modern(message) or modern.claims_modern(request.headers):
            return await self._stateless(request, message, accept)
        version = request.headers.get(VERSION_HEADER)
        if version is not None and version not in LEGACY_VERSIONS:
            return _error_response(400, Reason.UNSUPPORTED_VERSION, f"Unsupported protocol version: {version}")

        if message.get("method") == "initialize" and "id" in message:
            http_session = HttpSession(self.gateway, secrets.token_urlsafe(32))
            response = await http_session.session.handle(message)
            if response is not None and "result" in response:
                self.sessions[http_session.id] = http_session
            else:
                http_session.close()
            return _json(response, headers={"Mcp-Session-Id": http_session.id})

        found = self._session(request)
        if isinstance(found, Response):
            return found
        if "id" not in message or "method" not in message:
            await found.session.handle(message)
            return Response(status_code=202)
        return await self._respond(
            found.session,
            message,
            streaming="text/event-stream" in accept,
            tasks=found.tasks,
            fallback=found._push,
            archive=found.archive,
        )

    async def _stateless(self, request: Request, message: Message, accept: str) -> Response:
        """A 2026-07-28 request: no session; its envelope and headers say everything."""
        if "id" not in message or "method" not in message:
            return Response(status_code=202)  # the era defines no client notifications over HTTP
        session = Session(self.gateway, Client("anonymous", "http"), lambda _: None, stateless=True)
        return await self._respond(
            session,
            message,
            streaming="text/event-stream" in accept,
            # Optional whitespace around a field value is not part of it (RFC 9110); not every parser trims it.
            headers={name: value.strip() for name, value in request.headers.items()},
            status=modern.http_status,
            on_finish=session.close,  # in this era, closing the response stream cancels the request
        )

    async def _respond(
        self,
        session: Session,
        message: Message,
        *,
        streaming: bool,
        tasks: set[asyncio.Task[Any]] | None = None,
        fallback: Callable[[Message], None] | None = None,
        headers: Any = None,
        status: Callable[[Message], int] = lambda _: 200,
        on_finish: Callable[[], None] | None = None,
        archive: StreamArchive | None = None,
    ) -> Response:
        """Answer a request as JSON, or as an SSE stream once something related must go first.

        Related messages go on the stream when the client accepts one, else to `fallback` (the session's GET
        stream), else nowhere. With an `archive` the stream is resumable (2025-11-25 sessions).
        """
        stream = ReplayableStream()
        related = stream.append if streaming else (fallback or (lambda _: None))
        task = asyncio.ensure_future(session.handle(message, related, headers))
        running = tasks if tasks is not None else set()
        running.add(task)

        def settle(done: asyncio.Task[Message | None]) -> None:
            running.discard(done)
            stream.finish(_final(done, message))

        task.add_done_callback(settle)
        await stream.changed()
        if stream.done and stream.messages == 1:  # nothing came before the answer: plain JSON
            if on_finish is not None:
                on_finish()
            final = _final(task, message)
            return _json(final, status=status(final["error"]) if "error" in final else 200)
        if archive is not None:
            archive.add(stream)

        async def events() -> AsyncIterator[bytes]:
            try:
                async for event in stream.follow(prime=archive is not None):
                    yield event
            finally:
                if on_finish is not None:
                    on_finish()

        return StreamingResponse(events(), media_type="text/event-stream", headers=_SSE_HEADERS)

    def get(self, request: Request) -> Response:
        if "text/event-stream" not in request.headers.get("accept", ""):
            return _error_response(406, Reason.INVALID_REQUEST, "Not Acceptable: accept text/event-stream")
        found = self._session(request)
        if isinstance(found, Response):
            return found
        resumed = found.archive.resume(request.headers.get("last-event-id", ""))
        if resumed is not None:
            stream, after = resumed
            return StreamingResponse(stream.follow(after), media_type="text/event-stream", headers=_SSE_HEADERS)

        async def events() -> AsyncIterator[bytes]:
            found.streams += 1
            try:
                yield b": stream open\n\n"
                while found.id in self.sessions:
                    while found.unsolicited:
                        yield sse_event(found.unsolicited.popleft())
                    found.wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(found.wakeup.wait(), 15)
                    if not found.unsolicited:
                        yield b": keep-alive\n\n"
            finally:
                found.streams -= 1
                found.last_used = time.monotonic()

        return StreamingResponse(events(), media_type="text/event-stream", headers=_SSE_HEADERS)

    def delete(self, request: Request) -> Response:
        found = self._session(request)
        if isinstance(found, Response):
            return found
        del self.sessions[found.id]
        found.close()
        return Response(status_code=200)

    def expire_idle(self, idle_timeout: float) -> None:
        for session in [s for s in self.sessions.values() if s.idle_for() > idle_timeout]:
            del self.sessions[session.id]
            session.close()

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 (and a JSON-RPC error saying so) past `limit` bytes, declared or streamed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge(limit)
    return bytes(body)


class _TooLarge(GatewayError):
    def __init__(self, limit: int) -> None:
        super().__init__(Reason.REQUEST_TOO_LARGE, f"Request body too large: the limit is {limit} bytes", limit=limit)


def _final(task: asyncio.Task[Message | None], message: Message) -> Message:
    if task.cancelled():
        return jsonrpc.error(message["id"], GatewayError(Reason.CANCELLED, "Request cancelled").to_jsonrpc())
    exc = task.exception()
    if exc is not None:
        return jsonrpc.error(message["id"], GatewayError(Reason.INTERNAL, f"Internal error: {exc}").to_jsonrpc())
    return task.result() or jsonrpc.error(
        message["id"], GatewayError(Reason.CANCELLED, "Request cancelled").to_jsonrpc()
    )


def _json(message: Message | None, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    if message is None:
        return Response(status_code=202, headers=headers)
    return Response(jsonrpc.encode(message), status_code=status, media_type="application/json", headers=headers)


def _error_response(status: int, reason: Reason, text: str) -> Response:
    body = jsonrpc.encode(jsonrpc.error(None, GatewayError(reason, text).to_jsonrpc()))
    return Response(body, status_code=status, media_type="application/json")


def create_app(
    gateway: Gateway, *, host: str, allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = ()
) -> Starlette:
    endpoint = McpEndpoint(gateway, loopback_security(host, allowed_hosts, allowed_origins))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        readiness = gateway.readiness()
        return JSONResponse(readiness, status_code=200 if readiness["status"] != "down" else 503)

    legacy = LegacySseEndpoint(gateway, "/messages")

    async def sse_stream(request: Request) -> Response:
        refusal = await endpoint.security.validate_request(request)
        return refusal or legacy.stream(request)

    async def sse_message(request: Request) -> Response:
        refusal = await endpoint.security.validate_request(request, is_post=True)
        if refusal is not None:
            return refusal
        try:
            body = await _read_body(request, endpoint.max_body)
        except _TooLarge as exc:
            return JSONResponse(jsonrpc.error(None, exc.to_jsonrpc()), status_code=413)
        return await legacy.post(request, body)

    app = Starlette(
        routes=[
            Route("/mcp", endpoint.handle, methods=["GET", "POST", "DELETE"]),
            Route("/sse", sse_stream, methods=["GET"]),
            Route("/messages", sse_message, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
    )
    app.state.mcp = endpoint
    app.state.legacy_sse = legacy
    return app


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the gateway owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


async def serve_http(
    gateway: Gateway,
    host: str,
    port: int,
    *,
    task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
    idle_timeout: float = SESSION_IDLE_TIMEOUT,
    **security: Any,
) -> None:
    """Serve until cancelled; reports the bound port (useful with port 0) through `task_status`.

    The socket is bound here, so that a taken port raises OSError at once instead of inside uvicorn.
    """
    app = create_app(gateway, host=host, **security)
    listener = _bind(host, port)
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    serving = asyncio.ensure_future(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if serving.done():
                raise OSError(f"could not serve on {host}:{port}: {serving.exception()}")
            await anyio.sleep(0.01)
        task_status.started(listener.getsockname()[1])
        while not serving.done():
            app.state.mcp.expire_idle(idle_timeout)
            await asyncio.wait([serving], timeout=min(60.0, idle_timeout / 2))
        serving.result()
    finally:
        server.should_exit = True
        app.state.mcp.close()
        app.state.legacy_sse.close()
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await serving
        listener.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # marked TCP: asyncio sets NODELAY
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError:
        listener.close()
        raise
    listener.listen(2048)
    listener.setblocking(False)
    return listener
