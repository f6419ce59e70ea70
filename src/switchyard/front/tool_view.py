"""Which tools one session's `tools/list` holds, by search mode.

`all` lists every tool the client may call. `search` lists the meta-tools and the `always` tools. `dynamic`
adds what the session's searches found, at most `max_bound` tools, the least recently used dropped first.
`auto` is `all` while the full list fits the token budget, else `search`. Listed or not, every allowed tool
stays callable by name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from switchyard.catalogue import Entry
from switchyard.pipeline import Client

if TYPE_CHECKING:
    from switchyard.gateway import Gateway

ListedMode = Literal["all", "search", "dynamic"]


class ToolView:
    def __init__(self, gateway: Gateway, client: Client, *, stateless: bool) -> None:
        self._gateway = gateway
        self._client = client  # its profile decides the mode and what is visible
        self._settings = gateway.config.search
        self._stateless = stateless
        self._bound: OrderedDict[str, None] = OrderedDict()  # public names, least recently used first
        self._last_search: tuple[str, frozenset[str]] | None = None  # (query, names found)

    @property
    def mode(self) -> ListedMode:
        configured = self._gateway.profile_of(self._client).mode
        if configured == "auto":
            return "all" if self._gateway.lists_every_tool(self._client) else "search"
        if configured == "dynamic" and self._stateless:
            return "search"  # a 2026-07-28 client's lists must not vary per connection
        return configured

    def listing(self, params: dict[str, Any] | None) -> dict[str, Any]:
        gateway = self._gateway
        if self.mode == "all":
            return gateway.router.list_page("tools/list", params, self.visible)
        definitions = [*gateway.metatool_definitions, *(e.definition for e in self._listed())]
        return gateway.router.page("tools/list", "tools", definitions, params)

    def _listed(self) -> Iterable[Entry]:
        gateway = self._gateway
        for entry in gateway.catalogue.tools:
            if (entry.public_name in self._bound or gateway.always_listed(entry)) and self.visible(entry):
                yield entry

    def visible(self, entry: Entry) -> bool:
        return self._gateway.visible(entry, self._client)

    def found(self, query: str, names: list[str]) -> bool:
        """A search of this session found `names`; True when that changed what the session lists."""
        self._last_search = (query, frozenset(names))
        if self.mode != "dynamic":
            return False
        before = set(self._bound)
        for name in reversed(names):  # the best match ends up most recently used
            self._bound[name] = None
            self._bound.move_to_end(name)
        while len(self._bound) > self._settings.max_bound:
            self._bound.popitem(last=False)
        return set(self._bound) != before

    def called(self, name: str) -> None:
        """A tool call succeeded: keep a bound tool loaded, and teach the index what that search was for."""
        if name in self._bound:
            self._bound.move_to_end(name)
        if self._last_search is not None and name in self._last_search[1]:
            self._gateway.search_index.record_success(self._last_search[0], name)
            self._last_search = None
