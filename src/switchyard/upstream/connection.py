"""One JSON-RPC session with a backend, multiplexing concurrent requests by id.

The connection allocates its own request ids (clients' ids never reach a backend, so two clients can use the
same id), remaps progress tokens the same way, and fails every pending request the moment the stream ends.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc

from switchyard.errors import TRANSPORT_FAILURE, BackendError, GatewayError, Reason
from switchyard.protocol import jsonrpc
from switchyard.protocol.jsonrpc import Message, RequestId
from switchyard.upstream.transports import MessageStream

NotificationHandler = Callable[[Message, list[Any]], None]
ProgressHandler = Callable[[Message], None]
RequestHandler = Callable[[Message, list[Any]], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[Message]
    method: str
    owner: Any
    progress_token: Any = None


class Connection:
    def __init__(
        self,
        name: str,
        stream: MessageStream,
        *,
        on_notification: NotificationHandler,
        on_request: RequestHandler,
    ) -> None:
        self.name = name
        self._stream = stream
        self._on_notification = on_notification
        self._on_request = on_request
        self._ids = itertools.count(1)
        self._pending: dict[RequestId, _Pending] = {}
        self._progress: dict[Any, tuple[ProgressHandler, Any]] = {}
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._closed: GatewayError | None = None
        self._tasks: anyio.abc.TaskGroup | None = None
        self._log = logging.getLogger(f"switchyard.backend.{name}")

    @property
    def closed(self) -> bool:
        return self._closed is not None

    @property
    def close_reason(self) -> str | None:
        return self._closed.message if self._closed is not None else None

    async def run(self) -> None:
        """Read until the backend goes away, then fail whatever is still pending."""
        try:
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                tasks.start_soon(self._drain_outbox)
                async for message in self._stream:
                    self._dispatch(message)
                tasks.cancel_scope.cancel()
        finally:
            # A stream the gateway ended itself (a message over the size limit, say) says why.
            failure: GatewayError | None = getattr(self._stream, "failure", None)
            self._close(
                failure
                or GatewayError(
                    Reason.BACKEND_CRASHED,
                    f"Backend '{self.name}' closed the connection ({self._stream.exit_reason()})",
                    server=self.name,
                )
            )

    def _close(self, error: GatewayError) -> None:
        if self._closed is None:
            self._closed = error
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(self._closed)
        self._pending.clear()
        self._progress.clear()

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None,
        *,
        timeout: float | None,
        owner: Any = None,
        on_progress: ProgressHandler | None = None,
    ) -> dict[str, Any]:
        """Send a request and return the backend's `result`; a backend error raises BackendError."""
        if self._closed is not None:
            raise self._closed
        request_id = next(self._ids)
        pending = _Pending(asyncio.get_running_loop().create_future(), method, owner)
        if on_progress is not None and params is not None:
            params = self._remap_progress_token(params, request_id, pending, on_progress)
        self._pending[request_id] = pending
        try:
            await self._stream.send(jsonrpc.request(request_id, method, params))
            async with asyncio.timeout(timeout):
                response = await pending.future
        except TimeoutError:
            self.cancel_soon(request_id, "timed out")
            raise GatewayError(
                Reason.BACKEND_TIMEOUT,
                f"Backend '{self.name}' did not answer {method} within {timeout or 0:g} s",
                server=self.name,
            ) from None
        except asyncio.CancelledError:
            self.cancel_soon(request_id, "cancelled by the client")
            raise
        except (ConnectionError, OSError, anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            raise GatewayError(
                Reason.BACKEND_UNAVAILABLE, f"Backend '{self.name}' is not reachable: {exc}", server=self.name
            ) from None
        finally:
            self._pending.pop(request_id, None)
            if pending.progress_token is not None:
                self._progress.pop(pending.progress_token, None)
        if "error" in response:
            failure = response.get(TRANSPORT_FAILURE)
            if isinstance(failure, GatewayError):  # the transport's own, not the backend's
                raise failure
            raise BackendError(response["error"])
        result = response.get("result")
        return result if isinstance(result, dict) else {}

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        if self._closed is None:
            await self._stream.send(jsonrpc.notification(method, params))

    def cancel_soon(self, request_id: RequestId, reason: str) -> None:
        """Tell the backend to stop working on a request; safe to call from a cancelled task."""
        if self._closed is None:
            self._outbox.put_nowait(
                jsonrpc.notification("notifications/cancelled", {"requestId": request_id, "reason": reason})
            )

    def owners(self) -> list[Any]:
        """Who is waiting on this connection right now, oldest first (for attributing backend requests)."""
        return [p.owner for p in self._pending.values() if p.owner is not None]

    def _remap_progress_token(
        self, params: dict[str, Any], request_id: int, pending: _Pending, on_progress: ProgressHandler
    ) -> dict[str, Any]:
        meta = params.get("_meta")
        if not isinstance(meta, dict) or "progressToken" not in meta:
            return params
        token = f"sy-{request_id}"
        pending.progress_token = token
        self._progress[token] = (on_progress, meta["progressToken"])
        return {**params, "_meta": {**meta, "progressToken": token}}

    async def _drain_outbox(self) -> None:
        while True:
            message = await self._outbox.get()
            try:
                await self._stream.send(message)
            except (ConnectionError, OSError, anyio.ClosedResourceError, anyio.BrokenResourceError):
                return

    def _dispatch(self, message: Message) -> None:
        if "method" not in message:
            pending = self._pending.get(message.get("id"))  # type: ignore[arg-type]
            if pending is not None and not pending.future.done():
                pending.future.set_result(message)
            return
        if "id" in message:
            if self._tasks is not None:
                self._tasks.start_soon(self._answer, message)
            return
        if message["method"] == "notifications/progress":
            params = message.get("params") or {}
            route = self._progress.get(params.get("progressToken"))
            if route is not None:
                handler, original = route
                handler(jsonrpc.notification(message["method"], {**params, "progressToken": original}))
                return
        self._on_notification(message, self.owners())

    async def _answer(self, message: Message) -> None:
        """Answer a backend-to-client request (ping locally; the rest through the session that owns it)."""
        try:
            if message["method"] == "ping":
                reply = jsonrpc.result(message["id"], {})
            else:
                reply = jsonrpc.result(message["id"], await self._on_request(message, self.owners()))
        except BackendError as exc:
            reply = jsonrpc.error(message["id"], exc.error)
        except GatewayError as exc:
            reply = jsonrpc.error(message["id"], exc.to_jsonrpc())
        except Exception as exc:  # whatever went wrong answering, the connection itself must live on
            self._log.exception("answering %s failed", message["method"])
            reply = jsonrpc.error(message["id"], GatewayError(Reason.INTERNAL, f"Internal error: {exc}").to_jsonrpc())
        self._outbox.put_nowait(reply)
