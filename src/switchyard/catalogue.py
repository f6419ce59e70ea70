"""The in-memory, namespaced view of every backend's tools, prompts, resources and resource templates.

It changes only when a backend (re)connects, goes away or reports a list change; each change bumps `version`
and tells the listeners which kinds changed. Lists are sorted, so the same catalogue gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from switchyard import naming
from switchyard.naming import Collision, NameRequest, NamingMode

log = logging.getLogger("switchyard.catalogue")

KINDS = ("tools", "prompts", "resources", "resourceTemplates")


@dataclass(slots=True)
class Listing:
    """What one backend offers, as the raw definitions it sent."""

    tools: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    resource_templates: list[dict[str, Any]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = getattr(self, _FIELD[kind])
        return items

    def replacing(self, kind: str, items: list[dict[str, Any]]) -> Listing:
        """A new listing with one kind replaced (listings are shared: never change one in place)."""
        return dataclasses.replace(self, **{_FIELD[kind]: items})


_FIELD = {
    "tools": "tools",
    "prompts": "prompts",
    "resources": "resources",
    "resourceTemplates": "resource_templates",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One public item: the definition a client sees, and where it really lives."""

    kind: str  # one of KINDS
    public_name: str
    server: str
    original_name: str
    definition: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NamingPolicy:
    mode: NamingMode = "prefix"
    separator: str = "__"
    max_length: int = 64
    reserved_tools: frozenset[str] = frozenset()  # the gateway's own tools (meta-tools)


ChangeListener = Callable[[set[str]], None]


class Catalogue:
    def __init__(self, policy: NamingPolicy) -> None:
        self._policy = policy
        self._order: dict[str, int] = {}  # config order: who keeps a name under `naming: none`
        self._prefixes: dict[str, str] = {}
        self._listings: dict[str, Listing] = {}
        self._listeners: list[ChangeListener] = []
        self.version = 0
        self.tools: list[Entry] = []
        self.prompts: list[Entry] = []
        self.resources: list[Entry] = []
        self.templates: list[Entry] = []
        self.collisions: list[Collision] = []
        self._tool_index: dict[str, Entry] = {}
        self._prompt_index: dict[str, Entry] = {}
        self._resource_index: dict[str, Entry] = {}
        self._template_matchers: list[tuple[Any, Entry]] = []  # (mcp.shared.uri_template.UriTemplate, owner)
        # Tools and prompts of backends that went away, so that a call names the real problem.
        self._departed: dict[tuple[str, str], Entry] = {}

    def add_server(self, server: str, prefix: str) -> None:
        self._order.setdefault(server, len(self._order))
        self._prefixes[server] = prefix

    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def servers(self) -> list[str]:
        return sorted(self._listings, key=self._rank)

    def listing(self, server: str) -> Listing | None:
        return self._listings.get(server)

    def set_listing(self, server: str, listing: Listing) -> None:
        old = self._listings.get(server)
        self._listings[server] = listing
        self._departed = {key: e for key, e in self._departed.items() if e.server != server}
        changed = {k for k in KINDS if old is None or old.of(k) != listing.of(k)}
        if changed:
            self._rebuild(changed)

    def remove(self, server: str) -> None:
        old = self._listings.pop(server, None)
        if old is not None:
            for entry in (*self.tools, *self.prompts):
                if entry.server == server:
                    self._departed[(entry.kind, entry.public_name)] = entry
            self._rebuild({k for k in KINDS if old.of(k)})

    def departed(self, kind: str, public_name: str) -> Entry | None:
        """What a name used to be, if its backend is gone for now."""
        return self._departed.get((kind, public_name))

    def tool(self, public_name: str) -> Entry | None:
        return self._tool_index.get(public_name)

    def prompt(self, public_name: str) -> Entry | None:
        return self._prompt_index.get(public_name)

    def resource_owner(self, uri: str) -> Entry | None:
        """The resource or template that a URI belongs to (exact resources first, then templates)."""
        entry = self._resource_index.get(uri)
        if entry is not None:
            return entry
        for template, owner in self._template_matchers:
            if template.match(uri) is not None:
                return owner
        return None

    def template(self, uri_template: str) -> Entry | None:
        for _, entry in self._template_matchers:
            if entry.original_name == uri_template:
                return entry
        return None

    def _rank(self, server: str) -> tuple[int, str]:
        return (self._order.get(server, len(self._order)), server)

    def _named(self, kind: str) -> tuple[list[Entry], list[Collision]]:
        definitions: list[tuple[str, dict[str, Any]]] = []
        requests: list[NameRequest] = []
        for server in self.servers():
            for definition in self._listings[server].of(kind):
                name = definition.get("name")
                if isinstance(name, str):
                    definitions.append((server, definition))
                    requests.append(NameRequest(server, self._prefixes.get(server, server), name))
        names, collisions = naming.assign(
            requests,
            mode=self._policy.mode,
            separator=self._policy.separator,
            max_length=self._policy.max_length,
            reserved=self._policy.reserved_tools if kind == "tools" else frozenset(),
        )
        entries = []
        for server, definition in definitions:
            public = names.get((server, definition["name"]))
            if public is None:
                continue
            public_definition = definition if public == definition["name"] else {**definition, "name": public}
            entries.append(Entry(kind, public, server, definition["name"], public_definition))
        entries.sort(key=lambda e: e.public_name)
        return entries, collisions

    def _by_uri(self, kind: str, key: str) -> list[Entry]:
        entries: list[Entry] = []
        seen: dict[str, str] = {}
        for server in self.servers():
            for definition in self._listings[server].of(kind):
                uri = definition.get(key)
                if not isinstance(uri, str):
                    continue
                if uri in seen:
                    log.warning("%s %s of server '%s' hidden: server '%s' has it too", kind, uri, server, seen[uri])
                    continue
                seen[uri] = server
                entries.append(Entry(kind, uri, server, uri, definition))
        entries.sort(key=lambda e: (self._rank(e.server), e.public_name))
        return entries

    def _rebuild(self, changed: set[str]) -> None:
        self.tools, tool_collisions = self._named("tools")
        self.prompts, prompt_collisions = self._named("prompts")
        known = set(self.collisions)
        self.collisions = tool_collisions + prompt_collisions
        if self._policy.mode != "prefix":  # under `prefix` a shared name is no clash at all
            for collision in self.collisions:
                if collision not in known:
                    log.warning(
                        "name '%s' is offered by several servers (%s): %s",
                        collision.name,
                        ", ".join(collision.servers),
                        "only the first is reachable" if self._policy.mode == "none" else "each gets its prefix",
                    )
        self._tool_index = {e.public_name: e for e in self.tools}
        self._prompt_index = {e.public_name: e for e in self.prompts}
        self.resources = self._by_uri("resources", "uri")
        self._resource_index = {e.public_name: e for e in self.resources}
        self.templates = self._by_uri("resourceTemplates", "uriTemplate")
        self._template_matchers = []
        if self.templates:
            self._compile_templates()
        self.version += 1
        for listener in self._listeners:
            listener(changed)

    def _compile_templates(self) -> None:
        # Imported here: the SDK's RFC 6570 matcher loads the whole `mcp` package, which start-up does not need.
        from mcp.shared.uri_template import InvalidUriTemplate, UriTemplate

        for entry in self.templates:
            try:
                self._template_matchers.append((UriTemplate.parse(entry.original_name), entry))
            except InvalidUriTemplate as exc:
                log.warning("server '%s': unusable resource template %s: %s", entry.server, entry.original_name, exc)
