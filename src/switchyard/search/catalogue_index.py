"""The search index kept in step with the catalogue's tools.

Built on first use (a gateway whose clients never search pays nothing), then updated per server: a list
change marks the index stale, and the next search re-indexes only the servers whose tools changed. With an
embedder (hybrid search), indexing and searching run in a worker thread: embedding takes far too long for the
event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio.to_thread

from switchyard.catalogue import Catalogue, Entry
from switchyard.search.index import Embedder, Hit, ToolDocument, ToolIndex

ServerDescription = Callable[[str], str]


class CatalogueIndex:
    def __init__(self, catalogue: Catalogue, describe_server: ServerDescription) -> None:
        self._catalogue = catalogue
        self._describe_server = describe_server
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()  # held by whoever touches the index, once it is used from a worker thread
        self._index: ToolIndex | None = None
        self._indexed: dict[str, list[tuple[str, dict[str, Any]]]] = {}  # server -> what it was indexed from
        self._stale = True
        catalogue.on_change(self._on_change)

    @property
    def hybrid(self) -> bool:
        return self._embedder is not None

    def use_embedder(self, embedder: Embedder) -> None:
        """Rank by BM25 and embeddings fused from now on (the index is rebuilt on the next search)."""
        with self._lock:
            self._embedder = embedder
            self._index = None
            self._indexed = {}
            self._stale = True

    async def search(self, query: str, limit: int, *, server: str | None, allowed: Callable[[str], bool]) -> list[Hit]:
        if self._embedder is None:
            return self.index().search(query, limit, server=server, allowed=allowed)

        def search_locked() -> list[Hit]:
            with self._lock:
                return self.index().search(query, limit, server=server, allowed=allowed)

        return await anyio.to_thread.run_sync(search_locked)

    def record_success(self, query: str, name: str) -> None:
        """Feed the usage prior; skipped while a worker thread holds the index (the prior is only a hint)."""
        if self._index is None or not self._lock.acquire(blocking=False):
            return
        try:
            self._index.record_success(query, name)
        finally:
            self._lock.release()

    def index(self) -> ToolIndex:
        if self._index is None:
            self._index = ToolIndex(self._embedder)
        if self._stale:
            self._sync(self._index)
            self._stale = False
        return self._index

    def _on_change(self, kinds: set[str]) -> None:
        if "tools" in kinds:
            self._stale = True

    def _sync(self, index: ToolIndex) -> None:
        by_server: dict[str, list[Entry]] = {}
        for entry in self._catalogue.tools:
            by_server.setdefault(entry.server, []).append(entry)
        for server in [s for s in self._indexed if s not in by_server]:
            index.remove_server(server)
            del self._indexed[server]
        for server, entries in by_server.items():
            signature = [(e.public_name, e.definition) for e in entries]
            if self._indexed.get(server) != signature:
                description = self._describe_server(server)
                index.replace_server(server, [_document(e, description) for e in entries])
                self._indexed[server] = signature


def _document(entry: Entry, server_description: str) -> ToolDocument:
    definition = entry.definition
    schema = definition.get("inputSchema")
    annotations = definition.get("annotations")
    title = definition.get("title") or (annotations.get("title") if isinstance(annotations, dict) else None)
    return ToolDocument(
        name=entry.public_name,
        server=entry.server,
        tool=entry.original_name,
        description=str(definition.get("description") or ""),
        input_schema=schema if isinstance(schema, dict) else {},
        title=title if isinstance(title, str) else "",
        server_description=server_description,
    )
