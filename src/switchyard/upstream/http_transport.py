"""Streamable HTTP to a backend, relaying raw JSON-RPC: POST bodies and SSE events, parsed with orjson.

One persistent `httpx2.AsyncClient` (keep-alive) per backend connection. Every request is its own POST,
run concurrently in a task group, so requests multiplex; notifications and responses are POSTed in order
from `send()`. A POST's answer is one JSON body or an SSE stream of messages ending with the response;
everything that arrives goes to the receive side as a plain dict. No message is ever turned into a model.

Era rules ([PROTOCOL.md §5]):
- 2025-11-25: remember `Mcp-Session-Id` from the `initialize` answer and send it after; send the negotiated
  `MCP-Protocol-Version`; open a GET stream for server-initiated messages after `notifications/initialized`
  (405 tolerated); a 404 on a session means it expired: the stream ends, so the backend supervisor
  reconnects; DELETE the session on close; cancellation is the `notifications/cancelled` POST.
- 2026-07-28 (`protocol_version` set by the backend): every POST mirrors the routing headers
  (`modern.routing_headers`); no session, no GET stream; cancelling a request aborts its POST, since
  closing the response stream *is* the cancel.

A request never hangs on an HTTP failure: a 4xx/5xx, a 202, a bad body or a broken stream becomes a JSON-RPC
error response for that request (the backend's own JSON-RPC error when the body carries one). A backend that
cannot be reached at all ends the stream, which fails every pending request and restarts the backend.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
import anyio.abc
import httpx2
import orjson

from switchyard.config import ServerConfig
from switchyard.errors import TRANSPORT_FAILURE, GatewayError, Reason
from switchyard.protocol import modern
from switchyard.protocol.jsonrpc import Message, RequestId
from switchyard.protocol.versions import MODERN_VERSIONS
from switchyard.upstream import bounded

SESSION_HEADER = "mcp-session-id"
PROTOCOL_VERSION_HEADER = "mcp-protocol-version"
LAST_EVENT_ID_HEADER = "last-event-id"
ACCEPT = "application/json, text/event-stream"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one JSON body or SSE event, as on stdio
ERROR_BODY_BYTES = 64 * 1024  # of a refusal's body, read to describe it
DEFAULT_TIMEOUT = 60.0
MIN_READ_TIMEOUT = 300.0  # between two bytes of a response; a call's own deadline is the connection's
CLOSE_TIMEOUT = 2.0  # for the DELETE that ends a session
GET_BACKOFF_FIRST = 1.0
GET_BACKOFF_MAX = 30.0
RESUME_ATTEMPTS = 2  # legacy SSE resumption (Last-Event-ID) of a POST stream that broke before its response
BODY_SNIPPET = 200
# Requests whose answer may legitimately stay silent for longer than any read timeout.
_UNBOUNDED_METHODS = frozenset({"subscriptions/listen"})

_END: Any = object()  # the receive side's end marker


def http_client(config: ServerConfig) -> httpx2.AsyncClient:
    timeout = config.timeout or DEFAULT_TIMEOUT
    headers = httpx2.Headers(
        {"accept": ACCEPT, "content-type": "application/json", "accept-encoding": bounded.ACCEPT_ENCODING}
    )
    headers.update(config.headers)  # case-insensitively: a configured Accept replaces ours
    return httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(timeout, read=max(timeout, MIN_READ_TIMEOUT)),
        # Idle connections are dropped before common servers' own 5 s keep-alive ends, so that a request is not
        # sent on a connection the server is closing at that moment.
        limits=httpx2.Limits(max_connections=None, max_keepalive_connections=64, keepalive_expiry=4.0),
        follow_redirects=False,
        trust_env=False,
    )


class HttpStream:
    """A `MessageStream` over Streamable HTTP (see the module docstring)."""

    def __init__(
        self,
        config: ServerConfig,
        client: httpx2.AsyncClient,
        tasks: anyio.abc.TaskGroup,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        assert config.url is not None
        self._name = config.name
        self._limit = max_message_bytes  # of one message (a JSON body or an SSE event), decoded
        self._url = config.url
        self._client = client
        self._tasks = tasks
        self._log = logging.getLogger(f"switchyard.backend.{config.name}")
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._in_flight: dict[RequestId, anyio.CancelScope] = {}
        self._session_id: str | None = None
        self._negotiated: str | None = None  # the legacy version from the `initialize` result
        self._get_started = False
        self._ended: str | None = None
        # 2026-07-28: per tool, the arguments its inputSchema mirrors into `Mcp-Param-*` headers (`x-mcp-header`),
        # learnt from the tools/list answers that pass through.
        self._param_headers: dict[str, dict[tuple[str, ...], str]] = {}
        # A notification or response is answered at once (202); a listen stream may stay silent for hours.
        self._short = httpx2.Timeout(client.timeout.connect)
        self._unbounded = httpx2.Timeout(client.timeout.connect, read=None)
        self.protocol_version: str | None = None  # set by the backend when it speaks 2026-07-28

    # -- the MessageStream protocol ------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        if self._ended is not None:
            raise ConnectionError(f"backend '{self._name}' connection is closed ({self._ended})")
        method = message.get("method")
        if method is not None and "id" in message:
            request_id = message["id"]
            scope = anyio.CancelScope()
            superseded = self._in_flight.get(request_id)
            if superseded is not None:  # a reused id: the old POST must not answer for the new request
                superseded.cancel()
            self._in_flight[request_id] = scope
            # Headers are taken now, in the order messages are sent, not when the task happens to run.
            self._tasks.start_soon(self._post_request, message, self._headers(message), scope)
            return
        if method == "notifications/cancelled":
            await self._cancel(message)
            return
        await self._post_message(message)
        if method == "notifications/initialized" and not self._modern and not self._get_started:
            self._get_started = True
            self._tasks.start_soon(self._get_stream)

    async def __aiter__(self) -> AsyncIterator[Message]:
        inbox = self._inbox
        while True:
            message = await inbox.get()
            if message is _END:
                return
            yield message

    def exit_reason(self) -> str:
        return f"connection closed: {self._ended}" if self._ended else "connection closed"

    # -- lifecycle -----------------------------------------------------------------------------------------

    def end(self, reason: str) -> None:
        """Stop the receive side: the connection fails what is pending and the backend reconnects."""
        if self._ended is None:
            self._ended = reason
            self._log.warning("connection ended: %s", reason)
            self._inbox.put_nowait(_END)

    async def terminate(self) -> None:
        """End the legacy session on the server (best effort: a short timeout, errors ignored)."""
        if self._session_id is None or self._modern or self._ended is not None:
            return  # no session, or one that is gone already
        try:
            with anyio.move_on_after(CLOSE_TIMEOUT):
                response = await self._client.delete(self._url, headers=self._headers(None), timeout=CLOSE_TIMEOUT)
                if response.status_code not in (200, 202, 204, 404, 405):
                    self._log.info("session DELETE answered HTTP %d", response.status_code)
        except httpx2.HTTPError as exc:
            self._log.debug("session DELETE failed: %s", exc)

    # -- sending -------------------------------------------------------------------------------------------

    @property
    def _modern(self) -> bool:
        return self.protocol_version in MODERN_VERSIONS

    def _headers(self, message: Message | None) -> dict[str, str]:
        version = self.protocol_version
        headers: dict[str, str]
        if version in MODERN_VERSIONS:
            assert version is not None
            headers = modern.routing_headers(message or {}, version)
            if self._param_headers and message is not None and message.get("method") == "tools/call":
                headers.update(self._mirrored_arguments(message))
            return headers
        headers = {}
        if self._session_id is not None:
            headers[SESSION_HEADER] = self._session_id
        if self._negotiated is not None:
            headers[PROTOCOL_VERSION_HEADER] = self._negotiated
        return headers

    def _mirrored_arguments(self, message: Message) -> dict[str, str]:
        params = message.get("params")
        if not isinstance(params, dict):
            return {}
        name, arguments = params.get("name"), params.get("arguments")
        header_map = self._param_headers.get(name) if isinstance(name, str) else None
        if not header_map or not isinstance(arguments, dict):
            return {}
        from mcp.shared.inbound import mcp_param_headers

        return mcp_param_headers(header_map, arguments)

    async def _cancel(self, message: Message) -> None:
        params = message.get("params")
        request_id = params.get("requestId") if isinstance(params, dict) else None
        scope = self._in_flight.get(request_id) if request_id is not None else None
        if not self._modern:
            # 2025-11-25: the notification is the cancel (a disconnect is not); then stop reading that POST.
            await self._post_message(message)
        # 2026-07-28: no client notifications over HTTP; closing the request's stream is the cancel.
        if scope is not None:
            scope.cancel()

    async def _post_message(self, message: Message) -> None:
        """POST a notification or a response: the server accepts it (202) or refuses it."""
        try:
            async with self._client.stream(
                "POST", self._url, content=orjson.dumps(message), headers=self._headers(message), timeout=self._short
            ) as response:
                status = response.status_code
                if status < 300:
                    return
                body = await _error_body(response)
                if status == 404 and self._session_expired():
                    return
                self._log.warning("backend refused %s: %s", _describe(message), self._describe_status(response, body))
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
            self.end(self._unreachable(exc))
            raise ConnectionError(self._unreachable(exc)) from None
        except httpx2.HTTPError as exc:  # one lost notification or answer is not worth the connection
            self._log.warning("could not POST %s: %s: %s", _describe(message), type(exc).__name__, exc)

    async def _post_request(self, message: Message, headers: dict[str, str], scope: anyio.CancelScope) -> None:
        request_id = message["id"]
        try:
            with scope:
                error = await self._exchange(message, headers)
                if error is not None:
                    self._fail(request_id, error)
        except Exception as exc:  # a task must never take the connection down with an unexpected error
            self._log.exception("POST of %s failed", message.get("method"))
            self._fail(request_id, f"{type(exc).__name__}: {exc}")
        finally:
            if self._in_flight.get(request_id) is scope:
                del self._in_flight[request_id]

    async def _exchange(self, message: Message, headers: dict[str, str]) -> str | GatewayError | None:
        """POST one request and relay what comes back; return an error (text) if no response arrived."""
        request_id = message["id"]
        method = message["method"]
        timeout: Any = self._unbounded if method in _UNBOUNDED_METHODS else httpx2.USE_CLIENT_DEFAULT
        last_event_id: str | None = None
        retry_ms: int | None = None
        try:
            async with self._client.stream(
                "POST", self._url, content=orjson.dumps(message), headers=headers, timeout=timeout
            ) as response:
                status = response.status_code
                if status >= 300:
                    return await self._refused(request_id, response)
                if method == "initialize":
                    self._session_id = response.headers.get(SESSION_HEADER) or self._session_id
                if status == 202:
                    return f"Backend '{self._name}' answered {method} with HTTP 202 and no response"
                content_type = _content_type(response)
                if content_type.startswith("application/json"):
                    body = await bounded.read(response, self._limit)
                    if self._relay(body, request_id, method):
                        return None
                    return f"Backend '{self._name}' answered {method} with a body that is not its response"
                if content_type.startswith("text/event-stream"):
                    answered, last_event_id, retry_ms = await self._relay_events(response, request_id, method)
                    if answered:
                        return None
                else:
                    return f"Backend '{self._name}' answered {method} with unexpected content type {content_type!r}"
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
            self.end(self._unreachable(exc))
            return self._unreachable(exc)
        except (bounded.TooLarge, httpx2.SSEError):  # leaving the stream drops the connection
            return GatewayError(
                Reason.RESPONSE_TOO_LARGE,
                f"Backend '{self._name}' answered {method} with a message over {self._limit} bytes; reading stopped",
                server=self._name,
                limit_bytes=self._limit,
            )
        except bounded.BadEncoding as exc:
            return GatewayError(
                Reason.INVALID_BACKEND_MESSAGE, f"Backend '{self._name}' answered {method}: {exc}", server=self._name
            )
        except httpx2.HTTPError as exc:
            return f"HTTP {type(exc).__name__} from backend '{self._name}' during {method}: {exc}"
        # An SSE stream that ended before the response: legacy servers may let us resume it.
        if last_event_id and not self._modern:
            return await self._resume(request_id, method, last_event_id, retry_ms)
        return f"Backend '{self._name}' ended the {method} stream without a response"

    async def _resume(self, request_id: RequestId, method: str, last_event_id: str, retry_ms: int | None) -> str | None:
        """Resume a broken 2025-11-25 POST stream with a GET carrying `Last-Event-ID`."""
        for _ in range(RESUME_ATTEMPTS):
            await anyio.sleep((retry_ms if retry_ms is not None else 1000) / 1000)
            headers = {**self._headers(None), "accept": "text/event-stream", LAST_EVENT_ID_HEADER: last_event_id}
            try:
                async with self._client.stream("GET", self._url, headers=headers) as response:
                    if response.status_code >= 300 or not _content_type(response).startswith("text/event-stream"):
                        body = await _error_body(response)
                        return f"Backend '{self._name}' could not resume the {method} stream: " + (
                            self._describe_status(response, body)
                        )
                    answered, last, retry = await self._relay_events(response, request_id, method)
                    if answered:
                        return None
                    last_event_id = last or last_event_id
                    retry_ms = retry if retry is not None else retry_ms
            except httpx2.HTTPError as exc:
                self._log.debug("resuming the %s stream failed: %s", method, exc)
        return f"Backend '{self._name}' ended the {method} stream without a response"

    # -- receiving -----------------------------------------------------------------------------------------

    def _relay(self, body: bytes | str, request_id: RequestId | None, method: str) -> bool:
        """Feed a JSON body (one message, or a batch from an old server); True if it answered the request."""
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            self._log.warning("ignored a non-JSON body: %.200r", body)
            return False
        answered = False
        for message in parsed if isinstance(parsed, list) else (parsed,):
            if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
                self._log.warning("ignored a non-JSON-RPC message: %.200r", message)
                continue
            if request_id is not None and "method" not in message and message.get("id") == request_id:
                answered = True
                if method == "initialize":
                    self._on_initialize_result(message)
                elif method == "tools/list" and self._modern:
                    self._learn_param_headers(message)
            self._inbox.put_nowait(message)
        return answered

    async def _relay_events(
        self, response: httpx2.Response, request_id: RequestId | None, method: str
    ) -> tuple[bool, str | None, int | None]:
        """Feed every event's message; stop at the request's response. Returns (answered, last id, retry)."""
        last_event_id: str | None = None
        retry_ms: int | None = None
        source = httpx2.EventSource(cast(httpx2.Response, bounded.TextView(response)), max_event_size=self._limit)
        async for event in source:
            if event.id:
                last_event_id = event.id
            if event.retry is not None:
                retry_ms = event.retry
            if not event.data or event.event != "message":  # priming events, keep-alives, other kinds
                continue
            if self._relay(event.data, request_id, method):
                return True, last_event_id, retry_ms
        return False, last_event_id, retry_ms

    def _on_initialize_result(self, message: Message) -> None:
        result = message.get("result")
        version = result.get("protocolVersion") if isinstance(result, dict) else None
        if isinstance(version, str):
            self._negotiated = version

    def _learn_param_headers(self, message: Message) -> None:
        """Remember which tools mirror arguments into headers (a listing, not a call: off the hot path)."""
        result = message.get("result")
        tools = result.get("tools") if isinstance(result, dict) else None
        if not isinstance(tools, list):
            return
        from mcp.shared.inbound import X_MCP_HEADER_KEY, find_invalid_x_mcp_header, x_mcp_header_map

        for tool in tools:
            name = tool.get("name") if isinstance(tool, dict) else None
            if not isinstance(name, str):
                continue
            schema = tool.get("inputSchema")
            if not isinstance(schema, dict) or X_MCP_HEADER_KEY not in orjson.dumps(schema).decode():
                self._param_headers.pop(name, None)
            elif (reason := find_invalid_x_mcp_header(schema)) is not None:
                self._log.warning("tool %r has an invalid x-mcp-header annotation: %s", name, reason)
                self._param_headers.pop(name, None)
            else:
                self._param_headers[name] = x_mcp_header_map(schema)

    def _fail(self, request_id: RequestId, problem: str | GatewayError) -> None:
        if self._ended is not None:
            return  # the whole connection is failing its pending requests already
        if isinstance(problem, str):
            problem = GatewayError(Reason.BACKEND_UNAVAILABLE, problem, server=self._name)
        failure = {"jsonrpc": "2.0", "id": request_id, "error": problem.to_jsonrpc(), TRANSPORT_FAILURE: problem}
        self._inbox.put_nowait(failure)

    async def _refused(self, request_id: RequestId, response: httpx2.Response) -> str | GatewayError | None:
        """A 3xx/4xx/5xx answer to a request: relay the backend's JSON-RPC error, else say what went wrong.

        A 401/403 means the gateway's own credentials for the backend were refused (`auth_failed`); whatever
        the answer points at (`WWW-Authenticate: ... resource_metadata=...`) is never fetched.
        """
        content = await _error_body(response)
        if response.status_code == 404 and self._session_expired():
            return None
        if _content_type(response).startswith("application/json"):
            try:
                body = orjson.loads(content)
            except orjson.JSONDecodeError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                # The server may answer with `id: null` (rejected before it read the id): use ours.
                self._inbox.put_nowait({"jsonrpc": "2.0", "id": request_id, "error": body["error"]})
                return None
        problem = self._describe_status(response, content)
        if response.status_code in (401, 403):
            return GatewayError(
                Reason.AUTH_FAILED, f"{problem} (the gateway's credentials were refused)", server=self._name
            )
        if 300 <= response.status_code < 400:
            return GatewayError(Reason.BAD_REDIRECT, problem, server=self._name)
        return problem

    def _session_expired(self) -> bool:
        """A 404 on a legacy session: the server forgot it. End the stream so the backend reconnects."""
        if self._session_id is None or self._modern:
            return False
        self.end(f"HTTP 404 from backend '{self._name}': session expired")
        return True

    def _describe_status(self, response: httpx2.Response, body: bytes) -> str:
        status = response.status_code
        text = body.decode("utf-8", "replace").strip().replace("\n", " ")[:BODY_SNIPPET] or response.reason_phrase
        if 300 <= status < 400 and "location" in response.headers:
            text = f"redirect to {response.headers['location']} not followed"
        return f"HTTP {status} from backend '{self._name}': {text}"

    def _unreachable(self, exc: Exception) -> str:
        return f"cannot reach backend '{self._name}' at {self._url}: {exc or type(exc).__name__}"

    # -- the legacy GET stream -----------------------------------------------------------------------------

    async def _get_stream(self) -> None:
        """Server-initiated messages of a 2025-11-25 session, reconnecting with back-off; 405 = none offered."""
        delay = GET_BACKOFF_FIRST
        last_event_id: str | None = None
        try:
            while self._ended is None:
                retry_ms: int | None = None
                headers = {**self._headers(None), "accept": "text/event-stream"}
                if last_event_id:
                    headers[LAST_EVENT_ID_HEADER] = last_event_id
                try:
                    async with self._client.stream("GET", self._url, headers=headers) as response:
                        status = response.status_code
                        content_type = _content_type(response)
                        if status == 405:
                            self._log.debug("backend offers no GET stream (HTTP 405)")
                            return
                        if status < 300 and content_type.startswith("text/event-stream"):
                            delay = GET_BACKOFF_FIRST
                            _, last, retry_ms = await self._relay_events(response, None, "GET")
                            last_event_id = last or last_event_id
                        else:
                            body = await _error_body(response)
                            if status == 404 and self._session_expired():
                                return
                            self._log.info("GET stream refused: %s", self._describe_status(response, body))
                except httpx2.ReadTimeout:
                    delay = GET_BACKOFF_FIRST  # a quiet stream: open a new one
                except httpx2.HTTPError as exc:
                    self._log.debug("GET stream failed: %s", exc)
                wait = retry_ms / 1000 if retry_ms is not None and delay == GET_BACKOFF_FIRST else delay
                await anyio.sleep(wait)
                delay = min(delay * 2, GET_BACKOFF_MAX)
        except Exception:
            self._log.exception("GET stream failed")


async def _error_body(response: httpx2.Response) -> bytes:
    """Enough of a refusal's body to describe it."""
    try:
        return await bounded.read(response, ERROR_BODY_BYTES)
    except (bounded.TooLarge, bounded.BadEncoding):
        return b""


def _content_type(response: httpx2.Response) -> str:
    return response.headers.get("content-type", "").lower()


def _describe(message: Message) -> str:
    method = message.get("method")
    return str(method) if method is not None else f"the response to {message.get('id')!r}"


@asynccontextmanager
async def open_streamable_http(
    config: ServerConfig, max_message_bytes: int = MAX_MESSAGE_BYTES
) -> AsyncIterator[HttpStream]:
    assert config.url is not None
    async with http_client(config) as client, anyio.create_task_group() as tasks:
        stream = HttpStream(config, client, tasks, max_message_bytes)
        try:
            yield stream
        finally:
            with anyio.CancelScope(shield=True):
                await stream.terminate()
            tasks.cancel_scope.cancel()
