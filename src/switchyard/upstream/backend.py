"""One configured backend server: its connection, supervised.

The backend is started, initialised and listed; when it dies it is restarted with exponential back-off,
re-initialised and re-listed. While it is down, requests fail at once with a gateway error naming the
reason, so no caller ever waits on a dead backend.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc

from switchyard.catalogue import Listing
from switchyard.config import RestartConfig, ServerConfig
from switchyard.errors import INTERNAL_ERROR, BackendError, GatewayError, Reason
from switchyard.protocol import modern
from switchyard.protocol.jsonrpc import Message
from switchyard.protocol.versions import LATEST_LEGACY, MODERN_VERSIONS
from switchyard.upstream.breaker import Breaker
from switchyard.upstream.connection import Connection, ProgressHandler
from switchyard.upstream.transports import MAX_MESSAGE_BYTES, MessageStream, open_transport

GATEWAY_INFO = {"name": "switchyard", "version": "0.1.0"}
# What the gateway's shared session declares to backends. Roots are left out on purpose: a backend such as
# server-filesystem replaces its allowed directories with the client's roots, which a shared session cannot
# give for every client.
CLIENT_CAPABILITIES: dict[str, Any] = {"sampling": {}, "elicitation": {"form": {}, "url": {}}}
STABLE_AFTER = 30.0  # seconds up after which the back-off starts again from its first delay
STARTING_WAIT = 5.0  # how long a request waits for a backend that is (re)starting
DISCOVER_TIMEOUT = 5.0  # a legacy backend that ignores the probe is given this long before `initialize`
MODERN = MODERN_VERSIONS[-1]
IMMINENT_RESTART = 1.0  # seconds: a call to a backend that restarts within this long waits for it

_LISTS = (
    ("tools", "tools/list", "tools"),
    ("prompts", "prompts/list", "prompts"),
    ("resources", "resources/list", "resources"),
    ("resourceTemplates", "resources/templates/list", "resourceTemplates"),
)
_CAPABILITY_OF_KIND = {
    "tools": "tools",
    "prompts": "prompts",
    "resources": "resources",
    "resourceTemplates": "resources",
}
_KIND_OF_LIST_CHANGED = {
    "notifications/tools/list_changed": ("tools",),
    "notifications/prompts/list_changed": ("prompts",),
    "notifications/resources/list_changed": ("resources", "resourceTemplates"),
}


class State(enum.StrEnum):
    STARTING = "starting"
    UP = "up"
    DOWN = "down"
    STOPPED = "stopped"


ListingHandler = Callable[["Backend"], None]
NotificationHandler = Callable[["Backend", Message, list[Any]], None]
RequestHandler = Callable[["Backend", Message, list[Any]], Awaitable[dict[str, Any]]]


class Backend:
    def __init__(
        self,
        config: ServerConfig,
        *,
        restart: RestartConfig,
        default_timeout: float,
        start_timeout: float = 60.0,
        client_capabilities: dict[str, Any] | None = None,
        breaker: Breaker | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        on_listing: ListingHandler,
        on_notification: NotificationHandler,
        on_request: RequestHandler,
    ) -> None:
        self.config = config
        self.name = config.name
        self.breaker = breaker
        self._max_message_bytes = max_message_bytes
        self._restart = restart
        self.timeout = config.timeout or default_timeout
        self._start_timeout = start_timeout
        self._client_capabilities = CLIENT_CAPABILITIES if client_capabilities is None else client_capabilities
        self._on_listing = on_listing
        self._on_notification = on_notification
        self._on_request = on_request
        self.state = State.STARTING
        self.last_error: str | None = None
        self.restarts = 0
        self.up_since: float | None = None
        self.next_attempt_at: float | None = None
        self.protocol_version: str | None = None
        self.server_info: dict[str, Any] = {}
        self.capabilities: dict[str, Any] = {}
        self.instructions: str | None = None
        self.envelope: dict[str, Any] | None = None  # what every request carries to a 2026-07-28 backend
        self._resource_subscriptions: set[str] = set()  # URIs a modern backend is asked to report updates of
        self._relisten = anyio.Event()
        self.listing = Listing()
        self.first_attempt_done = anyio.Event()
        self._up = anyio.Event()
        self._connection: Connection | None = None
        self._tasks: anyio.abc.TaskGroup | None = None

    # -- supervision ---------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the backend connected until cancelled."""
        failures = 0
        log = logging.getLogger(f"switchyard.backend.{self.name}")
        try:
            while True:
                try:
                    self.last_error = await self._connect_once()
                except Exception as exc:  # a backend must never take the gateway down
                    self.last_error = _describe(exc)
                stayed_up = self.up_since is not None and time.monotonic() - self.up_since >= STABLE_AFTER
                failures = 1 if stayed_up else failures + 1
                self._mark_down()
                delay = min(
                    self._restart.initial_delay * self._restart.multiplier ** (failures - 1),
                    self._restart.max_delay,
                )
                self.next_attempt_at = time.time() + delay
                log.warning("down (%s); restarting in %.1f s", self.last_error, delay)
                await anyio.sleep(delay)
                self.restarts += 1
                self.state = State.STARTING
        finally:
            self._mark_down()
            self.state = State.STOPPED

    async def _connect_once(self) -> str:
        """Connect, initialise, list, and serve until the connection ends; return why it ended."""
        async with open_transport(self.config, self._max_message_bytes) as stream:
            connection = Connection(
                self.name,
                stream,
                on_notification=self._handle_notification,
                on_request=lambda message, owners: self._on_request(self, message, owners),
            )
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks

                async def read() -> None:
                    await connection.run()
                    self._connection_lost()
                    tasks.cancel_scope.cancel()

                tasks.start_soon(read)
                with anyio.fail_after(self._start_timeout):
                    await self._handshake(connection, stream)
                    self.listing = await self._list_everything(connection)
                if self.envelope is not None:
                    tasks.start_soon(self._listen, connection)
                self._connection = connection
                self.state = State.UP
                self.up_since = time.monotonic()
                self.last_error = None
                self.next_attempt_at = None
                self._up.set()
                self.first_attempt_done.set()
                self._on_listing(self)
            self._tasks = None
            return connection.close_reason or "connection closed"

    def _connection_lost(self) -> None:
        """At once, not after the old process is gone: calls meanwhile wait for the restart instead of meeting
        the closed connection."""
        self._connection = None
        if self._up.is_set():
            self._up = anyio.Event()

    def _mark_down(self) -> None:
        self._connection_lost()
        self.state = State.DOWN
        self.up_since = None
        self.first_attempt_done.set()
        if self.listing.tools or self.listing.prompts or self.listing.resources or self.listing.resource_templates:
            self.listing = Listing()
            self._on_listing(self)

    async def _handshake(self, connection: Connection, stream: MessageStream) -> None:
        """Speak the era the backend negotiates: probe `server/discover`, else the `initialize` handshake.

        A backend that stays silent for DISCOVER_TIMEOUT is offered `initialize` too, with the probe still
        pending: a legacy server that ignores unknown requests accepts the handshake, while a 2026-07-28 server
        that was only slow to start answers the probe late and refuses the handshake. Whichever it accepts wins.
        """
        if self.config.protocol == "legacy":
            await self._initialize(connection)
            return
        forced = self.config.protocol == MODERN
        envelope = modern.envelope_meta(MODERN, self._client_capabilities, GATEWAY_INFO)
        stream.protocol_version = MODERN
        probe = asyncio.ensure_future(self._probe(connection, envelope, forced=forced))
        try:
            done, _ = await asyncio.wait({probe}, timeout=None if forced else DISCOVER_TIMEOUT)
            if not done:
                stream.protocol_version = None
                try:
                    await self._initialize(connection)
                    return
                except BackendError:
                    stream.protocol_version = MODERN
            result = await probe
        finally:
            probe.cancel()
        if result is None:
            if forced:
                raise GatewayError(Reason.UNSUPPORTED_VERSION, f"Backend '{self.name}' does not support {MODERN}")
            stream.protocol_version = None
            await self._initialize(connection)
            return
        self.protocol_version = MODERN
        self.envelope = envelope
        self.server_info = modern.server_info_of(result)
        self.capabilities = result.get("capabilities") or {}
        self.instructions = result.get("instructions")

    async def _probe(self, connection: Connection, envelope: dict[str, Any], *, forced: bool) -> dict[str, Any] | None:
        """The backend's `server/discover` result, or None when it answers as a handshake-era server."""
        params = {"_meta": envelope}
        try:
            try:
                result = await connection.request("server/discover", params, timeout=self._start_timeout)
            except BackendError as exc:
                # An unsupported-version answer is a modern server speaking: retry once if it lists our version.
                supported = (exc.error.get("data") or {}).get("supported") if exc.error.get("code") == -32022 else None
                if not isinstance(supported, list) or MODERN not in supported:
                    raise
                result = await connection.request("server/discover", params, timeout=self._start_timeout)
        except (BackendError, GatewayError) as exc:
            if forced or (isinstance(exc, GatewayError) and exc.reason == Reason.BACKEND_CRASHED):
                raise
            return None
        supported = result.get("supportedVersions")
        return result if isinstance(supported, list) and MODERN in supported else None

    async def _listen(self, connection: Connection) -> None:
        """A modern backend tells of list changes and resource updates only on a `subscriptions/listen` stream.

        The stream is re-opened whenever the set of subscribed resources changes.
        """
        log = logging.getLogger(f"switchyard.backend.{self.name}")
        flags = {
            flag: True
            for kind, flag in (
                ("tools", "toolsListChanged"),
                ("prompts", "promptsListChanged"),
                ("resources", "resourcesListChanged"),
            )
            if (self.capabilities.get(kind) or {}).get("listChanged")
        }
        while True:
            self._relisten = anyio.Event()
            wanted: dict[str, Any] = dict(flags)
            if self._resource_subscriptions:
                wanted["resourceSubscriptions"] = sorted(self._resource_subscriptions)
            if wanted:
                async with anyio.create_task_group() as listening:

                    async def hold_open(notifications: dict[str, Any] = wanted) -> None:
                        try:
                            await connection.request(
                                "subscriptions/listen", self._enveloped({"notifications": notifications}), timeout=None
                            )
                        except (BackendError, GatewayError) as exc:
                            log.info("subscriptions/listen ended: %s", exc)

                    listening.start_soon(hold_open)
                    await self._relisten.wait()
                    listening.cancel_scope.cancel()
            else:
                await self._relisten.wait()
            if connection.closed:
                return

    def _subscribe_modern(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """`resources/(un)subscribe` from a handshake-era client, as a change to the listen stream."""
        uri = (params or {}).get("uri")
        if not isinstance(uri, str):
            raise GatewayError(Reason.INVALID_PARAMS, 'Invalid params: "uri" must be a string')
        if method == "resources/subscribe":
            self._resource_subscriptions.add(uri)
        else:
            self._resource_subscriptions.discard(uri)
        self._relisten.set()
        return {}

    def _enveloped(
        self,
        params: dict[str, Any] | None,
        client_capabilities: dict[str, Any] | None = None,
        log_level: str | None = None,
    ) -> dict[str, Any] | None:
        if self.envelope is None:
            return params
        envelope = self.envelope
        if client_capabilities is not None or log_level is not None:
            envelope = {**envelope, **modern.client_context(client_capabilities, log_level)}
        return modern.with_envelope(params, envelope)

    async def _initialize(self, connection: Connection) -> None:
        self.envelope = None
        result = await connection.request(
            "initialize",
            {
                "protocolVersion": LATEST_LEGACY,
                "capabilities": self._client_capabilities,
                "clientInfo": GATEWAY_INFO,
            },
            timeout=self._start_timeout,
        )
        self.protocol_version = result.get("protocolVersion")
        self.server_info = result.get("serverInfo") or {}
        self.capabilities = result.get("capabilities") or {}
        self.instructions = result.get("instructions")
        await connection.notify("notifications/initialized")

    async def _list_everything(self, connection: Connection) -> Listing:
        listing = Listing()
        for kind, _method, _key in _LISTS:
            listing = listing.replacing(kind, await self._list(connection, kind))
        return listing

    async def _list(self, connection: Connection, kind: str) -> list[dict[str, Any]]:
        if _CAPABILITY_OF_KIND[kind] not in self.capabilities:
            return []
        _, method, key = next(entry for entry in _LISTS if entry[0] == kind)
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            try:
                params = self._enveloped({"cursor": cursor} if cursor else None)
                page = await connection.request(method, params, timeout=self.timeout)
            except BackendError as exc:
                logging.getLogger(f"switchyard.backend.{self.name}").info("%s failed: %s", method, exc)
                return items
            items.extend(item for item in page.get(key, []) if isinstance(item, dict))
            cursor = page.get("nextCursor")
            if not cursor:
                return self._usable_tools(items) if kind == "tools" else items

    def _usable_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Tools whose `x-mcp-header` annotations are valid: clients must leave out the others (2026-07-28)."""
        flagged = [t for t in tools if "x-mcp-header" in str(t.get("inputSchema"))]
        if not flagged:
            return tools
        from mcp.shared.inbound import find_invalid_x_mcp_header

        invalid: set[int] = set()
        for tool in flagged:
            problem = find_invalid_x_mcp_header(tool.get("inputSchema"))
            if problem is not None:
                invalid.add(id(tool))
                logging.getLogger(f"switchyard.backend.{self.name}").warning(
                    "tool %s left out: invalid x-mcp-header (%s)", tool.get("name"), problem
                )
        return [t for t in tools if id(t) not in invalid]

    async def _relist(self, kinds: tuple[str, ...]) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            listing = self.listing
            for kind in kinds:
                listing = listing.replacing(kind, await self._list(connection, kind))
            self.listing = listing
        except GatewayError as exc:
            logging.getLogger(f"switchyard.backend.{self.name}").warning("re-listing failed: %s", exc.message)
            return
        self._on_listing(self)

    def _handle_notification(self, message: Message, owners: list[Any]) -> None:
        if message["method"] == "notifications/subscriptions/acknowledged":
            return
        kinds = _KIND_OF_LIST_CHANGED.get(message["method"])
        if kinds is not None:
            if self._tasks is not None:
                self._tasks.start_soon(self._relist, kinds)
            return
        self._on_notification(self, message, owners)

    # -- traffic -------------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None,
        *,
        owner: Any = None,
        on_progress: ProgressHandler | None = None,
        timeout: float | None = None,
        client_capabilities: dict[str, Any] | None = None,
        log_level: str | None = None,
    ) -> dict[str, Any]:
        """Send a request; to a 2026-07-28 backend it carries the requesting client's capabilities and log
        level (never more than that client declared), else the gateway's own."""
        breaker = self.breaker
        if breaker is None:
            return await self._request(method, params, owner, on_progress, timeout, client_capabilities, log_level)
        breaker.admit()
        try:
            result = await self._request(method, params, owner, on_progress, timeout, client_capabilities, log_level)
        except (GatewayError, BackendError) as exc:
            if _is_failure(exc):
                breaker.failed()
            else:
                breaker.succeeded()
            raise
        except BaseException:
            breaker.released()
            raise
        breaker.succeeded()
        return result

    async def _request(
        self,
        method: str,
        params: dict[str, Any] | None,
        owner: Any,
        on_progress: ProgressHandler | None,
        timeout: float | None,
        client_capabilities: dict[str, Any] | None,
        log_level: str | None,
    ) -> dict[str, Any]:
        connection = self._connection
        if connection is None:
            connection = await self._wait_until_up()
        if self.envelope is not None and method in ("resources/subscribe", "resources/unsubscribe"):
            return self._subscribe_modern(method, params)
        return await connection.request(
            method,
            self._enveloped(params, client_capabilities, log_level),
            timeout=timeout or self.timeout,
            owner=owner,
            on_progress=on_progress,
        )

    async def _wait_until_up(self) -> Connection:
        # UP without a connection: it has just ended, and the restart is on its way.
        if self.state in (State.STARTING, State.UP) or self._restarting_soon():
            # A first start (a per-client session, say) may take as long as any start; a restart is waited
            # for only briefly.
            with anyio.move_on_after(
                STARTING_WAIT if self.restarts or self.state != State.STARTING else self._start_timeout
            ):
                await self._up.wait()
            if self._connection is not None:
                return self._connection
        raise GatewayError(Reason.BACKEND_UNAVAILABLE, self.unavailable_message(), server=self.name)

    def _restarting_soon(self) -> bool:
        """Down, with a restart due in a moment (the first back-off after a crash): worth waiting for."""
        due = self.next_attempt_at
        return self.state == State.DOWN and due is not None and due - time.time() <= IMMINENT_RESTART

    def unavailable_message(self) -> str:
        message = f"Backend '{self.name}' is {self.state.value}"
        if self.last_error:
            message += f": {self.last_error}"
        if self.next_attempt_at is not None and self.state == State.DOWN:
            message += f"; next restart in {max(0.0, self.next_attempt_at - time.time()):.1f} s"
        return message

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state.value,
            "transport": self.config.type,
            "protocolVersion": self.protocol_version,
            "serverInfo": self.server_info,
            "tools": len(self.listing.tools),
            "prompts": len(self.listing.prompts),
            "resources": len(self.listing.resources),
            "resourceTemplates": len(self.listing.resource_templates),
            "restarts": self.restarts,
            "lastError": self.last_error,
            **({"circuit": self.breaker.status()} if self.breaker is not None else {}),
        }


# What says the backend itself is failing (as opposed to answering, if with an error of its own).
_FAILURES = frozenset(
    {
        Reason.BACKEND_CRASHED,
        Reason.BACKEND_UNAVAILABLE,
        Reason.BACKEND_TIMEOUT,
        Reason.RESPONSE_TOO_LARGE,
        Reason.LINE_TOO_LONG,
        Reason.INVALID_BACKEND_MESSAGE,
    }
)


def _is_failure(exc: GatewayError | BackendError) -> bool:
    if isinstance(exc, GatewayError):
        return exc.reason in _FAILURES
    # A transport's own failure arrives as an error response carrying a gateway reason.
    data = exc.error.get("data")
    reason = data.get("reason") if isinstance(data, dict) else None
    return exc.error.get("code") == INTERNAL_ERROR or reason in _FAILURES  # a StrEnum equals its value


def _describe(exc: BaseException) -> str:
    """A one-line reason, looking inside exception groups for the error that matters."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, GatewayError):
        return exc.message
    if isinstance(exc, TimeoutError):
        return "did not finish starting in time"
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {exc.filename}"
    return f"{type(exc).__name__}: {exc}"
