"""The composition root: config in, a running gateway out (backends, catalogue, pipeline, router, audit).

Fronts hand each client message to a `Session` built on this object; nothing here knows about transports.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.to_thread

from switchyard import naming
from switchyard.catalogue import KINDS, Catalogue, Entry, Listing, NamingPolicy
from switchyard.config import Config, ServerConfig
from switchyard.errors import GatewayError, Reason
from switchyard.observability import metrics
from switchyard.observability.logging import REDACTOR, remember_secrets
from switchyard.observability.redaction import config_secrets
from switchyard.pipeline import Client, Requester, Target, build_chain
from switchyard.pipeline.access import Access
from switchyard.pipeline.audit import Audit
from switchyard.pipeline.limits import Limits
from switchyard.pipeline.metrics import CallMetrics
from switchyard.pipeline.profiles import Profile, Profiles
from switchyard.pipeline.redaction import Redaction, Redactor, configured_secrets
from switchyard.protocol import modern
from switchyard.protocol.jsonrpc import Message
from switchyard.registry import AuditWriter
from switchyard.router import Router
from switchyard.search.budget import lists_everything
from switchyard.search.catalogue_index import CatalogueIndex
from switchyard.search.metatools import MetaTools, metatool_definitions
from switchyard.security.pinning import PinGuard, Pinning
from switchyard.security.scan import Scanner
from switchyard.upstream.backend import Backend, State
from switchyard.upstream.breaker import Breaker

if TYPE_CHECKING:
    from switchyard.front.listen import ListenStream
    from switchyard.front.session import Session
    from switchyard.registry import Store

log = logging.getLogger("switchyard.gateway")
STARTUP_PRELOAD_WAIT = 30.0  # seconds the preload of the modern-protocol code waits for the backends
REGISTRY_SAVE_LIMIT = 10.0  # seconds a save of discovered definitions may take, even at shutdown
_SERVER_DESCRIPTION_LENGTH = 500  # of a backend's instructions, indexed as what the server is for

_LIST_CHANGED = {
    "tools": "notifications/tools/list_changed",
    "prompts": "notifications/prompts/list_changed",
    "resources": "notifications/resources/list_changed",
    "resourceTemplates": "notifications/resources/list_changed",
}
_REGISTRY_KINDS = {
    "tools": "tool",
    "prompts": "prompt",
    "resources": "resource",
    "resourceTemplates": "resource_template",
}
_DEFINITION_KEY = {"tools": "name", "prompts": "name", "resources": "uri", "resourceTemplates": "uriTemplate"}


class Gateway:
    def __init__(self, config: Config, *, store: Store | None = None) -> None:
        self.config = config
        self.store = store
        settings = config.gateway
        self.profiles = Profiles(config)
        self.allowlist = self.profiles.default.allowlist  # the top-level policies
        # A server no client may ever use is never started.
        servers = [s for s in config.enabled_servers() if self.allowlist.visible(s.name)]
        self.metatool_definitions = metatool_definitions(config.search)
        reserved = frozenset(d["name"] for d in self.metatool_definitions)
        self.catalogue = Catalogue(
            NamingPolicy(settings.naming, settings.separator, settings.max_name_length, reserved_tools=reserved)
        )
        self.backends: dict[str, Backend] = {}
        self._backend_scopes: dict[str, anyio.CancelScope] = {}
        self._tasks: anyio.abc.TaskGroup | None = None
        for server in servers:
            self._add_backend(server)
        self.audit = AuditWriter(store, observer=metrics.count_refusal)
        self.pinning = Pinning(config.security.pinning, audit=self.audit.submit, public_names=self._public_names)
        if store is not None:
            self.pinning.attach(store, self._rescreen)
        self.router = Router(self.catalogue, self.backends, page_size=settings.page_size, backend_for=self.backend_for)
        self._private: dict[tuple[str, Any], Backend] = {}  # (server, session) -> that client's own session
        self.search_index = CatalogueIndex(self.catalogue, self._describe_server)
        metatools = MetaTools(
            config.search,
            self.catalogue,
            self.search_index,
            visible=lambda client, entry: self.visible(entry, client),
            resolve=self.router.target,
            call_tool=lambda call: self.handle_call(dataclasses.replace(call, via="meta")),
        )
        access = Access(
            self.profile_of,
            {server.namespace: name for name, server in config.servers.items()},
            settings.separator,
        )
        limits = Limits(lambda client: self.profile_of(client).limits)
        pin_guard = PinGuard(
            self.pinning,
            lambda call, server, tool, public: self.profile_of(call.client).allowlist.visible(server, tool, public),
        )
        remember_secrets(config_secrets(config))  # masked in every log line and recorded argument
        audit = Audit(self.audit.submit, arguments=config.audit.arguments, redactor=REDACTOR)
        call_metrics = CallMetrics(lambda name: self.catalogue.tool(name) is not None)
        redaction = self._redaction()
        self.handle_call = build_chain(
            [audit, call_metrics, *redaction, limits, metatools, pin_guard, access], self.router.forward
        )
        self._always = [re.compile(fnmatch.translate(p)) for p in config.search.always]
        self._auto_choice: dict[str | None, tuple[int, bool]] = {}  # profile -> (catalogue version, list all?)
        self.sessions: set[Session] = set()
        self.listen_streams: set[ListenStream] = set()  # 2026-07-28 clients' subscriptions/listen requests
        self._ready = not self.backends
        self._dirty_servers: set[str] = set()
        self._registry_wakeup = anyio.Event()
        self.catalogue.on_change(self._announce)

    # -- lifecycle -----------------------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Gateway]:
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            for name in self.backends:
                self._start_backend(name)
            tasks.start_soon(self.audit.run)
            tasks.start_soon(self.pinning.run)
            if self.store is not None:
                tasks.start_soon(self._sync_registry)
            if self.config.search.embeddings:
                tasks.start_soon(self._load_embedder)
            try:
                yield self
            finally:
                tasks.cancel_scope.cancel()
                self._tasks = None
        with anyio.CancelScope(shield=True):
            await self.audit.flush()  # whatever the writer had not written yet
            with anyio.move_on_after(REGISTRY_SAVE_LIMIT):
                await self.pinning.flush()

    def attach_store(self, store: Store) -> None:
        """Give a running gateway its registry (opened while the backends were already starting)."""
        self.store = store
        self.audit.attach(store)
        self.pinning.attach(store, self._rescreen)
        self._ready = False  # until the pins are read: a changed tool must not be served meanwhile
        self._dirty_servers.update(self.backends)
        self._registry_wakeup.set()
        if self._tasks is not None:
            self._tasks.start_soon(self.audit.run)
            self._tasks.start_soon(self._sync_registry)

    def reconcile(self, config: Config) -> None:
        """Start the enabled servers this gateway lacks and stop those now disabled or gone."""
        wanted = {s.name: s for s in config.enabled_servers() if self.allowlist.visible(s.name)}
        for name in [n for n in self.backends if n not in wanted]:
            self._backend_scopes.pop(name, anyio.CancelScope()).cancel()
            del self.backends[name]
            self.catalogue.remove(name)
            self.pinning.forget(name)
        for name, server in wanted.items():
            if name not in self.backends:
                self._add_backend(server)
                if self._tasks is not None:
                    self._start_backend(name)

    def backend_for(self, server: str, requester: Requester | None) -> Backend:
        """The upstream session a request goes to: the shared one, or the client's own (`sessions: per-client`)."""
        shared = self.backends[server]
        if shared.config.sessions == "shared" or requester is None or requester.session.stateless:
            return shared
        key = (server, requester.session)
        private = self._private.get(key)
        if private is None:
            private = self._private[key] = self._open_private(shared.config, requester.session)
        return private

    def _open_private(self, server: ServerConfig, session: Session) -> Backend:
        settings = self.config.gateway

        async def ask(backend: Backend, message: Message, requesters: list[Requester]) -> dict[str, Any]:
            channel = requesters[-1].related if requesters else session.outbound
            return await session.ask(message["method"], message.get("params"), channel)

        def notify(backend: Backend, message: Message, requesters: list[Requester]) -> None:
            if requesters:
                requesters[-1].related(message)
            else:
                session.notify(message)

        backend = Backend(
            server,
            restart=settings.restart,
            default_timeout=settings.request_timeout,
            client_capabilities=session.client_capabilities,
            max_message_bytes=self.config.limits.max_response_bytes,
            on_listing=lambda _: None,  # the shared session's listing is the catalogue's
            on_notification=notify,
            on_request=ask,
        )
        if self._tasks is None:
            raise GatewayError(Reason.BACKEND_UNAVAILABLE, f"Backend '{server.name}': the gateway is not running")
        self._launch(f"{server.name}@{id(session)}", backend)
        return backend

    def release(self, session: Session) -> None:
        """A client went away: end the upstream sessions opened for it alone."""
        for server, owner in [key for key in self._private if key[1] is session]:
            del self._private[(server, owner)]
            self._backend_scopes.pop(f"{server}@{id(session)}", anyio.CancelScope()).cancel()

    def _add_backend(self, server: ServerConfig) -> None:
        settings = self.config.gateway
        self.catalogue.add_server(server.name, server.namespace)
        limits = self.config.limits
        self.backends[server.name] = Backend(
            server,
            restart=settings.restart,
            default_timeout=settings.request_timeout,
            breaker=Breaker(server.name, failures_to_open=limits.circuit_failures, cooldown=limits.circuit_cooldown_s),
            max_message_bytes=limits.max_response_bytes,
            on_listing=self._listing_changed,
            on_notification=self._backend_notification,
            on_request=self._backend_request,
        )
        self._ready = False

    def _start_backend(self, name: str) -> None:
        self._launch(name, self.backends[name])

    def _launch(self, key: str, backend: Backend) -> None:
        """Run a backend in the gateway's task group, under a scope that `key` can cancel alone."""
        assert self._tasks is not None
        scope = self._backend_scopes[key] = anyio.CancelScope()

        async def run() -> None:
            with scope:
                await backend.run()

        self._tasks.start_soon(run)

    async def wait_ready(self, timeout: float) -> None:
        """Wait (bounded) until every backend has made its first attempt to start."""
        if self._ready:
            return
        with anyio.move_on_after(timeout):
            for backend in list(self.backends.values()):
                await backend.first_attempt_done.wait()
            await self.pinning.wait_loaded()
            self._ready = True

    # -- what sessions read --------------------------------------------------------------------------------

    def _redaction(self) -> list[Redaction]:
        settings = self.config.policies.redaction
        if not settings.enabled:
            return []
        redactor = Redactor(settings, configured_secrets(self.config))
        return [Redaction(redactor, self._output_schema)]

    def _output_schema(self, target: Target) -> Any:
        entry = self.catalogue.tool(target.public_name) if target.kind == "tool" else None
        return entry.definition.get("outputSchema") if entry is not None else None

    def profile_of(self, client: Client) -> Profile:
        return self.profiles.of(client.profile)

    def visible(self, entry: Entry, client: Client | None = None) -> bool:
        """May this client (None: one without a profile) see this entry?"""
        profile = self.profiles.default if client is None else self.profiles.of(client.profile)
        tool = entry.original_name if entry.kind == "tools" else None
        return profile.allowlist.visible(entry.server, tool, entry.public_name if tool else None)

    def always_listed(self, entry: Entry) -> bool:
        """A tool that `search.always` keeps in every session's tools/list."""
        subjects = (entry.public_name, f"{entry.server}:{entry.original_name}")
        return any(p.match(subject) for p in self._always for subject in subjects)

    def lists_every_tool(self, client: Client | None = None) -> bool:
        """`auto` mode's choice: every tool while the full list fits the token budget (decided per catalogue
        and profile)."""
        version = self.catalogue.version
        profile = None if client is None else client.profile
        choice = self._auto_choice.get(profile)
        if choice is None or choice[0] != version:
            tools = [e.definition for e in self.catalogue.tools if self.visible(e, client)]
            choice = self._auto_choice[profile] = (version, lists_everything(tools, self.config.search.budget_tokens))
        return choice[1]

    async def preload_modern_protocol(self) -> None:
        """Once the backends are up (start-up is not slowed), load what a 2026-07-28 request needs, off the loop.

        For fronts that serve many clients (HTTP), where the first modern request would stall the others; it
        costs about 30 MB, which a stdio gateway with its single client is spared.
        """
        await self.wait_ready(STARTUP_PRELOAD_WAIT)
        await anyio.to_thread.run_sync(modern.preload, abandon_on_cancel=True)

    async def _load_embedder(self) -> None:
        """Hybrid search: load the embedding model off the event loop (it takes seconds); BM25 serves meanwhile."""
        try:
            from switchyard.search.embeddings import MiniLMEmbedder

            embedder = await anyio.to_thread.run_sync(MiniLMEmbedder)
        except ImportError as exc:
            log.error(
                "search.embeddings needs the 'embeddings' extra (pip install 'mcp-switchyard[embeddings]'): %s; "
                "searching with BM25 alone",
                exc,
            )
            return
        self.search_index.use_embedder(embedder)
        log.info("search: embedding model loaded, ranking is hybrid")

    def _describe_server(self, server: str) -> str:
        backend = self.backends.get(server)
        if backend is None or self.pinning.server_flagged(server):
            return ""
        info = backend.server_info or {}
        parts = [str(info[k]) for k in ("title", "description") if isinstance(info.get(k), str)]
        if backend.instructions:
            parts.append(backend.instructions[:_SERVER_DESCRIPTION_LENGTH])
        return "\n".join(parts)

    def capabilities(self) -> dict[str, Any]:
        """Advertise only what some backend really offers (list changes: the gateway itself reports them, for
        handshake-era clients as notifications, for 2026-07-28 clients on `subscriptions/listen`)."""
        caps: dict[str, Any] = {}
        backend_caps = [b.capabilities for b in self.backends.values() if b.state == State.UP]
        if any("tools" in c for c in backend_caps):
            caps["tools"] = {"listChanged": True}
        if any("prompts" in c for c in backend_caps):
            caps["prompts"] = {"listChanged": True}
        if any("resources" in c for c in backend_caps):
            subscribe = any((c.get("resources") or {}).get("subscribe") for c in backend_caps)
            caps["resources"] = {"listChanged": True, **({"subscribe": True} if subscribe else {})}
        if any("completions" in c for c in backend_caps):
            caps["completions"] = {}
        if any("logging" in c for c in backend_caps):
            caps["logging"] = {}
        task_caps = [c["tasks"] for c in backend_caps if isinstance(c.get("tasks"), dict)]
        if task_caps:  # tasks are routed by id to the backend that started them
            caps["tasks"] = task_caps[0]
        return caps

    def instructions(self) -> str | None:
        parts = [
            f"## {b.name}\n{b.instructions}"
            for b in self.backends.values()
            if b.state == State.UP and b.instructions and not self.pinning.server_flagged(b.name)
        ]
        return "\n\n".join(parts) or None

    def readiness(self) -> dict[str, Any]:
        statuses = [b.status() for b in self.backends.values()]
        up = sum(s["state"] == State.UP.value for s in statuses)
        overall = "up" if up == len(statuses) else ("down" if up == 0 and statuses else "degraded")
        return {"status": overall, "backends": statuses, "sessions": len(self.sessions)}

    # -- backend events ------------------------------------------------------------------------------------

    def _listing_changed(self, backend: Backend) -> None:
        if backend.state == State.UP:
            self.catalogue.set_listing(backend.name, self._screened(backend))
        else:
            self.catalogue.remove(backend.name)
        self._dirty_servers.add(backend.name)
        self._registry_wakeup.set()

    def _screened(self, backend: Backend) -> Listing:
        """The backend's listing as clients may see it: tools held back by pinning or the scan left out."""
        others = [b for b in self.backends.values() if b is not backend]
        scanner = Scanner(
            foreign_tools={t["name"] for b in others for t in b.listing.tools if isinstance(t.get("name"), str)}
            | {e.public_name for e in self.catalogue.tools if e.server != backend.name},
            foreign_servers={b.config.namespace for b in others},
            own_tools={t["name"] for t in backend.listing.tools if isinstance(t.get("name"), str)},
        )
        self.pinning.screen_server(backend.name, scanner.server(backend.server_info, backend.instructions))
        return backend.listing.replacing("tools", self.pinning.screen(backend.name, backend.listing.tools, scanner))

    def _rescreen(self) -> None:
        for backend in list(self.backends.values()):
            if backend.state == State.UP:
                self._listing_changed(backend)

    def _public_names(self, server: str, tool: str) -> tuple[str, ...]:
        """What clients would call a tool by (held-back tools are in no catalogue to ask)."""
        backend = self.backends.get(server)
        if backend is None:
            return ()
        settings = self.config.gateway
        name = naming.prefixed(backend.config.namespace, tool, settings.separator, settings.max_name_length)
        return (name,) if settings.naming == "prefix" else (name, tool)

    def _announce(self, kinds: set[str]) -> None:
        for stream in list(self.listen_streams):
            stream.on_catalogue_change(kinds)
        methods = sorted({_LIST_CHANGED[k] for k in kinds})
        for session in list(self.sessions):
            for method in methods:
                session.notify({"jsonrpc": "2.0", "method": method})

    def _backend_notification(self, backend: Backend, message: Message, requesters: list[Requester]) -> None:
        """Deliver what a backend sent on its shared session to the one client it can belong to.

        Updates go to the URI's subscribers. Anything else (logs, above all) goes to the client whose requests
        are in flight on that backend; with none in flight it is unsolicited and goes to every session; with
        several clients in flight it cannot be attributed over a shared session, and is dropped rather than
        shown to the wrong client.
        """
        method = message["method"]
        if method == "notifications/resources/updated":
            uri = str((message.get("params") or {}).get("uri"))
            for session in list(self.router.subscribers.get(uri, ())):
                session.notify(message)
            return
        if not requesters:
            for session in list(self.sessions):
                session.notify(message)
            return
        if len({r.session for r in requesters}) == 1:
            requester = requesters[-1]
            if method != "notifications/message" or _wants_log(requester, message):
                requester.related(message)
            return
        log.debug("%s from '%s' dropped: several clients have calls in flight", method, backend.name)

    async def _backend_request(self, backend: Backend, message: Message, requesters: list[Requester]) -> dict[str, Any]:
        """A backend asks its client something (sampling, elicitation, roots): find which client."""
        sessions = {r.session for r in requesters}
        if len(sessions) != 1:
            raise GatewayError(
                Reason.METHOD_NOT_FOUND,
                f"{message['method']} cannot be attributed to one client on the shared session "
                f"({len(sessions)} clients have requests in flight)",
            )
        requester = requesters[-1]
        answer: dict[str, Any] = await requester.session.ask(
            message["method"], message.get("params"), requester.related
        )
        return answer

    # -- durable state, off the hot path -------------------------------------------------------------------

    async def _sync_registry(self) -> None:
        assert self.store is not None
        while True:
            await self._registry_wakeup.wait()
            self._registry_wakeup = anyio.Event()
            servers, self._dirty_servers = self._dirty_servers, set()
            # A save cut off mid-transaction leaves the database driver's tasks behind and can hang the
            # process at exit: let it finish (briefly) even when the gateway is stopping.
            with anyio.CancelScope(shield=True), anyio.move_on_after(REGISTRY_SAVE_LIMIT):
                await self._save_discovered(servers)

    async def _save_discovered(self, servers: set[str]) -> None:
        assert self.store is not None
        try:
            for name in servers:
                listing = self.backends[name].listing
                for kind in KINDS:
                    key = _DEFINITION_KEY[kind]
                    definitions = {d[key]: d for d in listing.of(kind) if isinstance(d.get(key), str)}
                    if definitions or self.backends[name].state == State.UP:
                        await self.store.save_definitions(name, _REGISTRY_KINDS[kind], definitions)
            mappings = {
                (e.server, kind, e.original_name): e.public_name
                for kind, entries in (("tool", self.catalogue.tools), ("prompt", self.catalogue.prompts))
                for e in entries
            }
            await self.store.save_name_mappings(mappings)
        except Exception:
            log.exception("could not save discovered definitions to the registry")


LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


def _wants_log(requester: Requester, message: Message) -> bool:
    level = (message.get("params") or {}).get("level")
    if requester.log_level is None:
        return False
    if level not in LOG_LEVELS or requester.log_level not in LOG_LEVELS:
        return True
    return LOG_LEVELS.index(level) >= LOG_LEVELS.index(requester.log_level)
