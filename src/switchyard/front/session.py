"""One client's view of the gateway: its handshake, its in-flight requests, and what the gateway answers.

A front (stdio, HTTP) turns bytes into messages and hands each to `Session.handle`; requests for backends go
through the gateway's pipeline and router. Messages for the client leave through `outbound` (unsolicited) or
the `related` channel of the request they belong to (progress, and backend requests made during that call).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from switchyard.errors import BackendError, GatewayError, Reason
from switchyard.front import listen
from switchyard.front.tool_view import ToolView
from switchyard.gateway import LOG_LEVELS, Gateway
from switchyard.pipeline import Call, Client, Requester
from switchyard.protocol import jsonrpc, modern
from switchyard.protocol.jsonrpc import Message, RequestId
from switchyard.protocol.modern import Envelope
from switchyard.protocol.versions import MODERN_VERSIONS, negotiate_legacy
from switchyard.router import LISTS, ROUTED
from switchyard.upstream.backend import GATEWAY_INFO, State

Outbound = Callable[[Message], None]

log = logging.getLogger("switchyard.session")

STARTUP_WAIT = 30.0  # how long `initialize` waits for backends still starting
ASK_TIMEOUT = 600.0  # how long a backend's request to the client (e.g. elicitation) may wait for a human
DEFAULT_LOG_LEVEL = "info"  # what a handshake-era client gets before it sets a level
MAX_INPUT_ROUNDS = 10  # rounds of input a backend may ask for in one call
_CAPABILITY_FOR = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}


class Session:
    def __init__(self, gateway: Gateway, client: Client, outbound: Outbound, *, stateless: bool = False) -> None:
        self.gateway = gateway
        self.client = client
        self.outbound = outbound
        self.protocol_version: str | None = None
        self.client_capabilities: dict[str, Any] = {}
        self.client_info: dict[str, Any] = {}
        self.initialized = False
        self.log_level: int | None = None
        self._inflight: dict[RequestId, asyncio.Task[Any]] = {}
        self._cancelled: set[RequestId] = set()
        self._asks: dict[str, asyncio.Future[Message]] = {}
        self._ask_ids = itertools.count(1)
        # A stateless session serves modern requests, which carry their own context and get no unsolicited
        # messages: it is not announced to the gateway.
        self.stateless = stateless
        self.tools = ToolView(gateway, client, stateless=stateless)
        if not stateless:
            gateway.sessions.add(self)

    def close(self) -> None:
        self.gateway.sessions.discard(self)
        self.gateway.router.forget_subscriber(self)
        self.gateway.router.tasks.forget_owner(self)
        self.gateway.release(self)
        for task in self._inflight.values():
            task.cancel()
        for future in self._asks.values():
            if not future.done():
                future.set_exception(GatewayError(Reason.CANCELLED, "The client went away before answering"))

    # -- to the client -------------------------------------------------------------------------------------

    def notify(self, message: Message) -> None:
        """An unsolicited message from the gateway or a backend (list changes, logs, resource updates)."""
        if not self.initialized:
            return
        if message["method"] == "notifications/message" and self.log_level is not None:
            level = (message.get("params") or {}).get("level")
            if level in LOG_LEVELS and LOG_LEVELS.index(level) < self.log_level:
                return
        self.outbound(message)

    async def ask(self, method: str, params: dict[str, Any] | None, via: Outbound) -> dict[str, Any]:
        """Forward a backend's request to this client and wait for its answer."""
        if self.stateless:
            raise GatewayError(
                Reason.METHOD_NOT_FOUND,
                f"{method} from a handshake-era backend cannot be bridged to a 2026-07-28 client: the gateway "
                "does not yet turn it into an input-required result",
            )
        capability = _CAPABILITY_FOR.get(method)
        if capability is not None and capability not in self.client_capabilities:
            raise GatewayError(Reason.METHOD_NOT_FOUND, f"The client does not support {method}")
        ask_id = f"sy-{next(self._ask_ids)}"
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._asks[ask_id] = future
        try:
            via(jsonrpc.request(ask_id, method, params))
            with anyio.fail_after(ASK_TIMEOUT):
                response = await future
        except TimeoutError:
            raise GatewayError(Reason.TIMEOUT, f"The client did not answer {method} within {ASK_TIMEOUT:g} s") from None
        finally:
            self._asks.pop(ask_id, None)
        if "error" in response:
            raise BackendError(response["error"])
        return response.get("result") or {}

    # -- from the client -----------------------------------------------------------------------------------

    async def handle(
        self, message: Any, related: Outbound | None = None, headers: Mapping[str, str] | None = None
    ) -> Message | None:
        """Handle one message from the client; return the response to a request, None otherwise.

        `headers` are the HTTP request's (lower-case names), which a modern request's must agree with.
        """
        try:
            message = jsonrpc.validate(message)
        except GatewayError as exc:
            request_id = message.get("id") if isinstance(message, dict) else None
            valid_id = request_id if isinstance(request_id, int | str) and not isinstance(request_id, bool) else None
            return jsonrpc.error(valid_id, exc.to_jsonrpc())
        if "method" not in message:
            self._resolve_ask(message)
            return None
        if "id" not in message:
            self._handle_notification(message["method"], message.get("params") or {})
            return None
        request_id = message["id"]
        method = message["method"]
        params = message.get("params") or {}
        envelope: Envelope | None = None
        task = asyncio.current_task()
        if task is not None:
            self._inflight[request_id] = task
        try:
            if modern.is_modern(message) or (headers is not None and modern.claims_modern(headers)):
                envelope = modern.open_envelope(message, headers)
                if headers is not None and method == "tools/call":
                    self._check_param_headers(params, headers)
                params = modern.strip_envelope(params)
                if method in modern.REMOVED_METHODS:
                    raise GatewayError(Reason.METHOD_NOT_FOUND, f"Method not found: {method} (removed in 2026-07-28)")
            result = await self._dispatch(request_id, method, params, related or self.outbound, envelope)
            if envelope is not None:
                result = modern.complete_result(method, result, GATEWAY_INFO)
            else:
                result = modern.without_server_info(result)
            return jsonrpc.result(request_id, result)
        except GatewayError as exc:
            return jsonrpc.error(request_id, exc.to_jsonrpc(request_id))
        except BackendError as exc:
            error = modern.legacy_not_found_to_modern(exc.error) if envelope is not None else exc.error
            return jsonrpc.error(request_id, error)
        except asyncio.CancelledError:
            if request_id not in self._cancelled or task is None:
                raise
            task.uncancel()
            return None  # the client cancelled it: it expects no answer
        finally:
            self._inflight.pop(request_id, None)
            self._cancelled.discard(request_id)

    def _check_param_headers(self, params: dict[str, Any], headers: Mapping[str, str]) -> None:
        """`Mcp-Param-*` headers must agree with the arguments they mirror (the tool's `x-mcp-header`s)."""
        entry = self.gateway.catalogue.tool(params.get("name", ""))
        arguments = params.get("arguments")
        if entry is not None and isinstance(arguments, dict):
            modern.check_param_headers(entry.definition.get("inputSchema"), arguments, headers)

    def _resolve_ask(self, message: Message) -> None:
        future = self._asks.get(str(message.get("id")))
        if future is not None and not future.done():
            future.set_result(message)

    def _handle_notification(self, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/initialized":
            self.initialized = True
        elif method == "notifications/cancelled":
            request_id = params.get("requestId")
            task = self._inflight.get(request_id)  # type: ignore[arg-type]
            if task is not None:
                self._cancelled.add(request_id)  # type: ignore[arg-type]
                task.cancel()

    async def _dispatch(
        self,
        request_id: RequestId,
        method: str,
        params: dict[str, Any],
        related: Outbound,
        envelope: Envelope | None = None,
    ) -> Any:
        gateway = self.gateway
        await gateway.wait_ready(STARTUP_WAIT)
        if method in ROUTED:
            if envelope is not None:
                requester = Requester(
                    self, related, envelope.client_capabilities, envelope.log_level, envelope.protocol_version
                )
            else:
                level = LOG_LEVELS[self.log_level] if self.log_level is not None else DEFAULT_LOG_LEVEL
                requester = Requester(self, related, self.client_capabilities, level, self.protocol_version)
            call = Call(method, params, self.client, request_id, gateway.router.target(method, params), requester)
            result = await gateway.handle_call(call)
            if envelope is None:
                result = await self._drive_input_required(call, result)
            if method == "tools/call":
                self._after_tool_call(call, result)
            return result
        if method == "tools/list":
            return self.tools.listing(params)
        if method in LISTS:
            return gateway.router.list_page(method, params, self.tools.visible)
        if method == "ping":
            return {}
        if method == "initialize":
            return await self._initialize(params)
        if method == "logging/setLevel":
            return await self._set_log_level(params)
        if method == "server/discover":
            return self._discover()
        if method == "subscriptions/listen" and envelope is not None:
            return await self._listen(request_id, params, related)
        raise GatewayError(Reason.METHOD_NOT_FOUND, f"Method not found: {method}")

    def _after_tool_call(self, call: Call, result: dict[str, Any]) -> None:
        """Searches bind what they found (dynamic mode); successful calls feed the search's usage prior."""
        if result.get("isError") is True:
            return
        name = call.target.public_name
        if name != self.gateway.config.search.search_tool_name:
            self.tools.called(name)
            return
        found = [t["name"] for t in (result.get("structuredContent") or {}).get("tools", ())]
        query = str((call.params.get("arguments") or {}).get("query", ""))
        if self.tools.found(query, found):
            self.notify(jsonrpc.notification("notifications/tools/list_changed"))

    async def _drive_input_required(self, call: Call, result: dict[str, Any]) -> dict[str, Any]:
        """A 2026-07-28 backend asks for input in its result; a handshake-era client is asked with real
        requests, and the call is retried with the answers until the backend completes it."""
        rounds = 0
        while result.get("resultType") == "input_required":
            rounds += 1
            if rounds > MAX_INPUT_ROUNDS:
                raise GatewayError(Reason.INTERNAL, f"The backend asked for input more than {MAX_INPUT_ROUNDS} times")
            assert call.requester is not None
            requests = result.get("inputRequests") or {}
            responses = {
                key: await self.ask(request.get("method", ""), request.get("params"), call.requester.related)
                for key, request in requests.items()
                if isinstance(request, dict)
            }
            params = {k: v for k, v in call.params.items() if k not in ("inputResponses", "requestState")}
            params["inputResponses"] = responses
            if "requestState" in result:
                params["requestState"] = result["requestState"]
            call = dataclasses.replace(call, params=params)
            result = await self.gateway.handle_call(call)
        return {k: v for k, v in result.items() if k != "resultType"}

    async def _listen(self, request_id: RequestId, params: dict[str, Any], related: Outbound) -> dict[str, Any]:
        gateway = self.gateway
        honoured, kinds, uris = listen.honoured_filter(params.get("notifications"), gateway.capabilities())
        stream = listen.ListenStream(request_id, related)
        stream.kinds = kinds
        subscribed: list[str] = []
        try:
            for uri in uris:
                try:
                    await self._subscribe_for(stream, uri, "resources/subscribe")
                except (GatewayError, BackendError) as exc:
                    log.info("listen: not subscribing to %s: %s", uri, exc)
                    continue
                subscribed.append(uri)
            if "resourceSubscriptions" in honoured:
                honoured["resourceSubscriptions"] = subscribed
            stream.notify(jsonrpc.notification("notifications/subscriptions/acknowledged", {"notifications": honoured}))
            gateway.listen_streams.add(stream)
            await listen.hold_open()
        finally:
            gateway.listen_streams.discard(stream)
            with anyio.CancelScope(shield=True):
                for uri in subscribed:
                    with contextlib.suppress(GatewayError, BackendError):
                        await self._subscribe_for(stream, uri, "resources/unsubscribe")
        return {"_meta": {listen.SUBSCRIPTION_ID_META_KEY: request_id}}

    async def _subscribe_for(self, stream: listen.ListenStream, uri: str, method: str) -> None:
        params = {"uri": uri}
        requester = Requester(stream, lambda _: None, {}, None)
        target = self.gateway.router.target(method, params)
        await self.gateway.handle_call(Call(method, params, self.client, None, target, requester))

    def _discover(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "supportedVersions": list(MODERN_VERSIONS),
            "capabilities": self.gateway.capabilities(),
        }
        instructions = self.gateway.instructions()
        if instructions:
            result["instructions"] = instructions
        return result

    async def _initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        self.protocol_version = negotiate_legacy(params.get("protocolVersion"))
        capabilities = params.get("capabilities")
        self.client_capabilities = capabilities if isinstance(capabilities, dict) else {}
        info = params.get("clientInfo")
        self.client_info = info if isinstance(info, dict) else {}
        result: dict[str, Any] = {
            "protocolVersion": self.protocol_version,
            "capabilities": self.gateway.capabilities(),
            "serverInfo": GATEWAY_INFO,
        }
        instructions = self.gateway.instructions()
        if instructions:
            result["instructions"] = instructions
        return result

    async def _set_log_level(self, params: dict[str, Any]) -> dict[str, Any]:
        level = params.get("level")
        if level not in LOG_LEVELS:
            raise GatewayError(Reason.INVALID_PARAMS, f"Invalid params: unknown log level {level!r}")
        self.log_level = LOG_LEVELS.index(level)
        # Backends are shared: ask them for the most verbose level any session wants; filter per session.
        wanted = min((s.log_level for s in self.gateway.sessions if s.log_level is not None), default=self.log_level)
        async with anyio.create_task_group() as tasks:
            for backend in self.gateway.backends.values():
                if backend.state == State.UP and "logging" in backend.capabilities:
                    tasks.start_soon(_set_backend_level, backend, LOG_LEVELS[wanted])
        return {}


async def _set_backend_level(backend: Any, level: str) -> None:
    try:
        await backend.request("logging/setLevel", {"level": level})
    except (GatewayError, BackendError) as exc:
        log.info("backend '%s' refused logging/setLevel: %s", backend.name, exc)
