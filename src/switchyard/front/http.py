"""The Streamable HTTP front (`/mcp`), the legacy HTTP+SSE one (`/sse`), and health endpoints beside them.

Sessions get cryptographically random ids. A request's response is JSON unless something related to it
(progress, a backend's question to the client) must reach the client first: then the response becomes an
SSE stream, decided lazily, so the common call pays nothing for streaming. Unsolicited messages go to the
session's GET stream.

Before any JSON-RPC handling a request passes the Host/Origin guard (guard.py) and authentication (auth.py);
a session belongs to the principal (and profile) that opened it, and to anyone else it does not exist.
`/mcp/{profile}` serves a named profile. Every refusal is audited with its precise reason. A call refused by
a rate, in-flight or session limit answers HTTP 429 with Retry-After (other call errors travel with 200).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.abc
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Scope

from switchyard.admin.mount import admin_routes
from switchyard.errors import GatewayError, Reason
from switchyard.front.auth import METADATA_PATH, Authenticator, AuthRefused, Identity, check_bind
from switchyard.front.guard import GuardSettings, HostOriginGuard
from switchyard.front.http_request import (
    audit_refusal,
    caller,
    new_session_id,
    read_body,
    rejection_response,
)
from switchyard.front.intake import Rejection, method_of, read_message, refusal_record, valid_id
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
_SSE_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
_PROTOCOL_LADDER_CODES = (-32020, -32021, -32022)  # a modern request refused before dispatch (header checks)
_SESSION_NOT_FOUND = "Session not found (it ended or never existed)"
_LIMIT_REASONS = (Reason.RATE_LIMITED.value, Reason.TOO_MANY_INFLIGHT.value, Reason.TOO_MANY_SESSIONS.value)


class HttpSession:
    """A session plus the queue behind its GET stream, owned by the identity that opened it."""

    def __init__(self, gateway: Gateway, client: Client, key_id: str | None) -> None:
        assert client.session_id is not None
        self.id = client.session_id
        self.key_id = key_id
        self.unsolicited: collections.deque[Message] = collections.deque(maxlen=UNSOLICITED_BUFFER)
        self.wakeup = asyncio.Event()
        self.session = Session(gateway, client, self._push)
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


class McpEndpoint:
    def __init__(self, gateway: Gateway, auth: Authenticator, max_body: int) -> None:
        self.gateway = gateway
        self.auth = auth
        self.max_body = max_body
        self.sessions: dict[str, HttpSession] = {}

    async def handle(self, request: Request) -> Response:
        try:
            identity = await self.auth.identify(request.headers)
        except AuthRefused as refusal:
            audit_refusal(self.gateway, request, refusal.reason)
            return self.auth.challenge(refusal)
        try:
            client = caller(self.gateway, request, identity)
            if request.method == "POST":
                return await self.post(request, client, identity)
            if request.headers.get(VERSION_HEADER) in MODERN_VERSIONS:
                text = f"{request.method} is not part of 2026-07-28"
                raise Rejection(405, GatewayError(Reason.METHOD_NOT_FOUND, text), audit_reason="method_not_allowed")
            if request.method == "GET":
                return self.get(request, client)
            return self.delete(request, client)
        except Rejection as rejection:
            audit_refusal(
                self.gateway,
                request,
                rejection.audit_reason,
                identity.principal,
                method=rejection.method,
                request_id=rejection.request_id,
            )
            return rejection_response(rejection)

    def _session(self, request: Request, client: Client) -> HttpSession:
        """The session the request names, if it is the caller's; anyone else's looks exactly like none."""
        session_id = request.headers.get(SESSION_HEADER)
        if session_id is None:
            error = GatewayError(Reason.INVALID_REQUEST, "Bad Request: missing Mcp-Session-Id header")
            raise Rejection(400, error, audit_reason="missing_session_id")
        found = self.sessions.get(session_id)
        if found is None:
            raise Rejection(
                404, GatewayError(Reason.INVALID_REQUEST, _SESSION_NOT_FOUND), audit_reason="unknown_session"
            )
        owner = found.session.client
        if owner.principal != client.principal or owner.profile != client.profile:
            reason = "session_principal_mismatch" if owner.principal != client.principal else "session_profile_mismatch"
            raise Rejection(404, GatewayError(Reason.INVALID_REQUEST, _SESSION_NOT_FOUND), audit_reason=reason)
        found.last_used = time.monotonic()
        return found

    async def post(self, request: Request, client: Client, identity: Identity) -> Response:
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("application/json"):
            error = GatewayError(Reason.INVALID_REQUEST, "Unsupported Media Type: send application/json")
            raise Rejection(415, error, audit_reason="unsupported_media_type")
        accept = request.headers.get("accept", "*/*")
        if not any(kind in accept for kind in ("application/json", "text/event-stream", "*/*")):
            error = GatewayError(Reason.INVALID_REQUEST, "Not Acceptable: accept application/json")
            raise Rejection(406, error, audit_reason="not_acceptable")
        message = read_message(await read_body(request, self.max_body))
        if modern.is_modern(message) or modern.claims_modern(request.headers):
            return await self._stateless(request, message, accept, client)
        version = request.headers.get(VERSION_HEADER)
        if version is not None and version not in LEGACY_VERSIONS:
            error = GatewayError(Reason.UNSUPPORTED_VERSION, f"Unsupported protocol version: {version}")
            raise Rejection(400, error, request_id=valid_id(message), method=method_of(message))

        if message.get("method") == "initialize" and "id" in message:
            session_id = new_session_id()
            http_session = HttpSession(self.gateway, _with_session(client, session_id), identity.key_id)
            response = await http_session.session.handle(message)
            if response is not None and "result" in response:
                self.sessions[http_session.id] = http_session
            else:
                http_session.close()
            return _json(response, headers={"Mcp-Session-Id": http_session.id})

        try:
            found = self._session(request, client)
        except Rejection as rejection:
            rejection.request_id, rejection.method = valid_id(message), method_of(message)
            raise
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

    async def _stateless(self, request: Request, message: Message, accept: str, client: Client) -> Response:
        """A 2026-07-28 request: no session; its envelope and headers say everything."""
        if "id" not in message or "method" not in message:
            return Response(status_code=202)  # the era defines no client notifications over HTTP
        session = Session(self.gateway, client, lambda _: None, stateless=True)

        def refused(final: Message) -> None:
            error = final["error"]
            if error.get("code") in _PROTOCOL_LADDER_CODES:  # refused by the header checks, before any dispatch
                reason = str((error.get("data") or {}).get("reason", "invalid_request"))
                audit_refusal(
                    self.gateway, request, reason, client.principal, method=method_of(message), request_id=final["id"]
                )

        return await self._respond(
            session,
            message,
            streaming="text/event-stream" in accept,
            # Optional whitespace around a field value is not part of it (RFC 9110); not every parser trims it.
            headers={name: value.strip() for name, value in request.headers.items()},
            status=modern.http_status,
            on_finish=session.close,  # in this era, closing the response stream cancels the request
            on_error=refused,
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
        on_error: Callable[[Message], None] | None = None,
        archive: StreamArchive | None = None,
    ) -> Response:
        """Answer a request as JSON, or as an SSE stream once something related must go first.

        Related messages go on the stream when the client accepts one, else to `fallback` (the session's GET
        stream), else nowhere. With an `archive` the stream is resumable (2025-11-25 sessions). `on_error`
        sees an error answer.
        """
        stream = ReplayableStream()
        related = stream.append if streaming else (fallback or (lambda _: None))
        task = asyncio.ensure_future(session.handle(message, related, headers))
        running = tasks if tasks is not None else set()
        running.add(task)

        def settle(done: asyncio.Task[Message | None]) -> None:
            running.discard(done)
            final = _final(done, message)
            if on_error is not None and "error" in final:
                on_error(final)
            stream.finish(final)

        task.add_done_callback(settle)
        await stream.changed()
        if stream.done and stream.messages == 1:  # nothing came before the answer: plain JSON
            if on_finish is not None:
                on_finish()
            final = _final(task, message)
            if "error" not in final:
                return _json(final)
            retry = _retry_after(final["error"])
            if retry is not None:  # a limit, not a failure of the call: HTTP says so, and when to come back
                return _json(final, headers={"Retry-After": retry}, status=429)
            return _json(final, status=status(final["error"]))
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

    def get(self, request: Request, client: Client) -> Response:
        if "text/event-stream" not in request.headers.get("accept", ""):
            error = GatewayError(Reason.INVALID_REQUEST, "Not Acceptable: accept text/event-stream")
            raise Rejection(406, error, audit_reason="not_acceptable")
        found = self._session(request, client)
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

    def delete(self, request: Request, client: Client) -> Response:
        found = self._session(request, client)
        self._end(found, "session_terminated")
        return Response(status_code=200)

    def _end(self, found: HttpSession, reason: str) -> None:
        """Close a session and everything it holds (streams, in-flight calls, its own backends); audited."""
        del self.sessions[found.id]
        found.close()
        client = found.session.client
        self.gateway.audit.submit(
            refusal_record(
                reason,
                principal=client.principal,
                transport="http",
                method="session/close",
                remote=client.remote,
                session_id=found.id,
                decision="allow",
            )
        )

    def expire_idle(self, idle_timeout: float) -> None:
        for session in [s for s in self.sessions.values() if s.idle_for() > idle_timeout]:
            self._end(session, "session_expired")

    def revoke(self, key_ids: set[str]) -> None:
        """Keys were revoked: the sessions they opened end now."""
        for session in [s for s in self.sessions.values() if s.key_id in key_ids]:
            self._end(session, "key_revoked")

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()


def _with_session(client: Client, session_id: str) -> Client:
    return Client(client.principal, client.transport, session_id, client.profile, client.role, client.remote)


def _final(task: asyncio.Task[Message | None], message: Message) -> Message:
    if task.cancelled():
        return jsonrpc.error(message["id"], GatewayError(Reason.CANCELLED, "Request cancelled").to_jsonrpc())
    exc = task.exception()
    if exc is not None:
        return jsonrpc.error(message["id"], GatewayError(Reason.INTERNAL, f"Internal error: {exc}").to_jsonrpc())
    return task.result() or jsonrpc.error(
        message["id"], GatewayError(Reason.CANCELLED, "Request cancelled").to_jsonrpc()
    )


def _retry_after(error: dict[str, Any]) -> str | None:
    """Retry-After (whole seconds) for an error that a rate, in-flight or session limit caused, else None."""
    data = error.get("data")
    if not isinstance(data, dict) or data.get("reason") not in _LIMIT_REASONS:
        return None
    wait_ms = data.get("retry_after_ms")
    return str(max(1, math.ceil(wait_ms / 1000))) if isinstance(wait_ms, int | float) else "1"


def _json(message: Message | None, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    if message is None:
        return Response(status_code=202, headers=headers)
    return Response(jsonrpc.encode(message), status_code=status, media_type="application/json", headers=headers)


def create_app(
    gateway: Gateway,
    *,
    host: str,
    auth: Authenticator | None = None,
    allowed_hosts: tuple[str, ...] | list[str] = (),
    allowed_origins: tuple[str, ...] | list[str] = (),
) -> Starlette:
    auth = auth or Authenticator(gateway.config.auth, gateway.store)
    endpoint = McpEndpoint(gateway, auth, gateway.config.gateway.max_request_bytes)
    legacy = LegacySseEndpoint(gateway, "/messages", auth, endpoint.max_body)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        readiness = gateway.readiness()
        return JSONResponse(readiness, status_code=200 if readiness["status"] != "down" else 503)

    async def resource_metadata(request: Request) -> Response:
        document = auth.metadata()
        if document is None:
            return Response("Not Found", status_code=404)
        return JSONResponse(document, headers={"Cache-Control": "max-age=3600"})

    def refused(scope: Scope, reason: str) -> None:
        audit_refusal(gateway, scope, reason)

    guard = GuardSettings.for_bind(host, allowed_hosts, allowed_origins)
    app = Starlette(
        routes=[
            Route("/mcp", endpoint.handle, methods=["GET", "POST", "DELETE"]),
            Route("/mcp/{profile}", endpoint.handle, methods=["GET", "POST", "DELETE"]),
            Route("/sse", legacy.stream, methods=["GET"]),
            Route("/messages", legacy.post, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route(METADATA_PATH, resource_metadata, methods=["GET"]),
            Route(f"{METADATA_PATH}/mcp", resource_metadata, methods=["GET"]),
            *admin_routes(gateway, auth, host),
        ],
        middleware=[Middleware(HostOriginGuard, settings=guard, on_refused=refused)],
    )
    app.state.mcp = endpoint
    app.state.legacy_sse = legacy
    app.state.auth = auth
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
    idle_timeout: float | None = None,
    allow_unauthenticated: bool = False,
    **security: Any,
) -> None:
    """Serve until cancelled; reports the bound port (useful with port 0) through `task_status`.

    The socket is bound here, so that a taken port raises OSError at once instead of inside uvicorn. Serving a
    non-loopback address without authentication raises UnsafeBind unless explicitly allowed.
    """
    check_bind(host, gateway.config.auth, allow_unauthenticated)
    idle_timeout = idle_timeout or gateway.config.gateway.http.session_idle_timeout
    auth = Authenticator(gateway.config.auth, gateway.store)
    await auth.start()
    app = create_app(gateway, host=host, auth=auth, **security)
    listener = _bind(host, port)
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    serving = asyncio.ensure_future(server.serve(sockets=[listener]))

    def revoked(key_ids: set[str]) -> None:
        app.state.mcp.revoke(key_ids)
        app.state.legacy_sse.revoke(key_ids)

    watching = asyncio.ensure_future(auth.watch(revoked))
    preloading = asyncio.ensure_future(gateway.preload_modern_protocol())
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
        watching.cancel()
        preloading.cancel()
        server.should_exit = True
        app.state.mcp.close()
        app.state.legacy_sse.close()
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await serving
            await asyncio.gather(watching, return_exceptions=True)
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
