"""The tool index: BM25F over the fields of each tool definition, updated one server at a time.

Each tool is cut into fields (its name, title, description, parameter names, parameter descriptions and enum
values, and the server's name and description), each field with its own weight and length normalisation (BM25F).
A query is stemmed like the documents and widened with words the catalogue itself suggests (see `expansion`);
an optional `Embedder` adds a semantic ranking fused by reciprocal rank.

Postings are kept per term and changed only for the server that changed; what depends on the whole catalogue
(document frequencies are kept exactly, average field lengths and the per-term score lists derived from them) is
recomputed lazily on the next search after a change.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from switchyard.search import expansion
from switchyard.search.tokens import terms


@dataclass(frozen=True, slots=True)
class ToolDocument:
    name: str  # public name (what the client calls)
    server: str  # backend server name
    tool: str  # the backend's own tool name
    description: str
    input_schema: Mapping[str, Any]
    title: str = ""
    server_description: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    document: ToolDocument
    score: float


class Embedder(Protocol):
    """A semantic ranker. Its vectors are opaque to the index: it embeds, stacks and searches them itself."""

    def embed(self, texts: Sequence[str]) -> Any:
        """One vector per text, as one matrix (rows in the order of `texts`)."""
        ...

    def stack(self, matrices: Sequence[Any]) -> Any:
        """The rows of all `matrices`, in order, as one matrix."""
        ...

    def nearest(self, query: str, matrix: Any, limit: int) -> list[int]:
        """Row numbers of `matrix` most similar to `query`, best first, at most `limit`."""
        ...


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    weight: float
    b: float  # how much a long field is discounted (0: not at all, 1: fully)


# Names and titles are short and say what the tool does; descriptions say it in more words; parameters hint at
# the objects involved; the server's name says which product.
FIELDS = (
    Field("name", 3.0, 0.3),
    Field("title", 2.0, 0.3),
    Field("description", 1.0, 0.75),
    Field("parameters", 0.6, 0.5),
    Field("parameter_text", 0.3, 0.75),
    Field("server", 1.0, 0.3),
)
K1 = 1.2
# A word in only the parameters of a tool counts this much towards its document frequency: parameters shared by
# every tool of a product (tenant, subscription, retry-delay) must not make the tool that is *about* that word rare.
PARAMETER_ONLY_FREQUENCY = 0.2
_TF_BITS = 8
_TF_MAX = (1 << _TF_BITS) - 1
_PRIMARY_MASK = sum(
    _TF_MAX << (_TF_BITS * position) for position, spec in enumerate(FIELDS) if not spec.name.startswith("parameter")
)
_RRF_K = 60
_FUSION_DEPTH = 100  # how deep each ranking takes part in the fusion
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 1.0


def document_fields(document: ToolDocument) -> tuple[list[str], ...]:
    """The search terms of each of FIELDS, in order."""
    parameter_names: list[str] = []
    parameter_text: list[str] = []
    _walk_schema(document.input_schema, parameter_names, parameter_text, depth=0)
    return (
        terms(document.tool),
        terms(document.title),
        terms(document.description),
        terms(" ".join(parameter_names)),
        terms(" ".join(parameter_text)),
        terms(f"{document.server} {document.server_description}"),
    )


def _walk_schema(schema: Any, names: list[str], text: list[str], depth: int) -> None:
    if not isinstance(schema, Mapping) or depth > 6:
        return
    for key in ("description", "title"):
        value = schema.get(key)
        if isinstance(value, str) and depth > 0:
            text.append(value)
    enum = schema.get("enum")
    if isinstance(enum, list):
        text.extend(str(value) for value in enum if isinstance(value, str | int | float))
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for name, sub in properties.items():
            names.append(str(name))
            _walk_schema(sub, names, text, depth + 1)
    for key in ("items", "additionalProperties"):
        _walk_schema(schema.get(key), names, text, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list):
            for option in options:
                _walk_schema(option, names, text, depth + 1)


def document_text(document: ToolDocument) -> str:
    """One plain text for the embedder: what the tool is called and what it does."""
    parts = [document.tool.replace("_", " "), document.title, document.description, document.server]
    return ". ".join(part for part in parts if part)


@dataclass(slots=True)
class _Entry:
    document: ToolDocument
    lengths: tuple[int, ...]
    terms: tuple[str, ...]  # distinct terms, to undo the postings on removal


@dataclass(slots=True)
class _Statistics:
    """What depends on the whole catalogue; rebuilt lazily after a change."""

    norms: dict[int, tuple[float, ...]] = field(default_factory=dict)  # per entry, per field: 1 - b + b*len/avg
    scored: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)  # term -> entries, scores
    vocabulary: expansion.Vocabulary | None = None
    vectors: Any = None  # the embedder's matrix of every entry, rows in the order of `vector_rows`
    vector_rows: list[int] = field(default_factory=list)


class ToolIndex:
    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder
        self._entries: dict[int, _Entry] = {}
        self._by_server: dict[str, list[int]] = {}
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)  # term -> entry -> packed field tfs
        self._primary_frequency: Counter[str] = Counter()  # term -> tools holding it outside their parameters
        self._length_sums = [0] * len(FIELDS)
        self._vectors: dict[str, Any] = {}  # server -> the embedder's matrix of its entries, in _by_server order
        self._next_id = 0
        self._statistics: _Statistics | None = None
        self._successes: dict[str, Counter[str]] = defaultdict(Counter)  # public name -> query terms

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ToolDocument]:
        return (entry.document for entry in self._entries.values())

    def replace_server(self, server: str, documents: Iterable[ToolDocument]) -> None:
        """Put `documents` in place of whatever `server` had (its tools/list changed)."""
        self.remove_server(server)
        added: list[int] = []
        for document in documents:
            fields = document_fields(document)
            entry_id = self._next_id
            self._next_id += 1
            counts = [Counter(field_terms) for field_terms in fields]
            distinct = set().union(*counts)
            for term in distinct:
                packed = 0
                for position, counter in enumerate(counts):
                    packed |= min(counter.get(term, 0), _TF_MAX) << (_TF_BITS * position)
                self._postings[term][entry_id] = packed
                if packed & _PRIMARY_MASK:
                    self._primary_frequency[term] += 1
            lengths = tuple(len(field_terms) for field_terms in fields)
            for position, length in enumerate(lengths):
                self._length_sums[position] += length
            self._entries[entry_id] = _Entry(document, lengths, tuple(distinct))
            added.append(entry_id)
        if added:
            self._by_server[server] = added
            if self._embedder is not None:
                self._vectors[server] = self._embedder.embed(
                    [document_text(self._entries[entry_id].document) for entry_id in added]
                )
        self._statistics = None

    def remove_server(self, server: str) -> None:
        for entry_id in self._by_server.pop(server, ()):
            entry = self._entries.pop(entry_id)
            for term in entry.terms:
                postings = self._postings[term]
                if postings.pop(entry_id) & _PRIMARY_MASK:
                    self._primary_frequency[term] -= 1
                    if not self._primary_frequency[term]:
                        del self._primary_frequency[term]
                if not postings:
                    del self._postings[term]
            for position, length in enumerate(entry.lengths):
                self._length_sums[position] -= length
            self._statistics = None
        self._vectors.pop(server, None)

    def record_success(self, query: str, name: str) -> None:
        """Remember that `name` served `query`: later queries sharing its words rank it a little higher."""
        self._successes[name].update(set(terms(query)))

    def search(
        self,
        query: str,
        limit: int = 5,
        *,
        server: str | None = None,
        allowed: Callable[[str], bool] | None = None,
    ) -> list[Hit]:
        """The best `limit` tools for `query`, best first; ties in name order. An empty query finds nothing.

        `server` keeps only that server's tools; `allowed(public_name)` is asked before the cut to `limit`, so a
        refused tool is never shown and the allowed ones behind it fill the list.
        """
        if limit <= 0 or not self._entries:
            return []
        statistics = self._current_statistics()
        query_terms = terms(query)
        if not query_terms:
            return []
        assert statistics.vocabulary is not None
        weighted = expansion.expand(query_terms, statistics.vocabulary)
        scores: dict[int, float] = defaultdict(float)
        for term, weight in weighted.items():
            entry_ids, term_scores = self._scored(term, statistics)
            if weight == 1.0:
                for entry_id, score in zip(entry_ids, term_scores, strict=True):
                    scores[entry_id] += score
            else:
                for entry_id, score in zip(entry_ids, term_scores, strict=True):
                    scores[entry_id] += weight * score
        if self._successes:
            self._apply_usage_prior(scores, set(query_terms))
        if self._embedder is not None and self._vectors:
            scores = self._fused(query, scores, statistics)

        def admissible(entry_id: int) -> bool:
            document = self._entries[entry_id].document
            if server is not None and document.server != server:
                return False
            return allowed is None or allowed(document.name)

        best = self._best(scores, limit, admissible)
        return [Hit(self._entries[entry_id].document, score) for entry_id, score in best]

    def _best(self, scores: dict[int, float], limit: int, admissible: Callable[[int], bool]) -> list[tuple[int, float]]:
        entries = self._entries

        def order(item: tuple[int, float]) -> tuple[float, str]:
            return (-item[1], entries[item[0]].document.name)

        wanted = limit * 4 + 8
        while True:
            top = heapq.nsmallest(wanted, scores.items(), key=order)
            best = [item for item in top if admissible(item[0])]
            if len(best) >= limit or len(top) < wanted:
                return best[:limit]
            wanted *= 4

    def _apply_usage_prior(self, scores: dict[int, float], query_terms: set[str]) -> None:
        for entry_id, score in scores.items():
            remembered = self._successes.get(self._entries[entry_id].document.name)
            if remembered:
                shared = sum(min(remembered[term], 3) for term in query_terms if term in remembered)
                if shared:
                    scores[entry_id] = score * (1.0 + 0.05 * shared)

    def _fused(self, query: str, scores: dict[int, float], statistics: _Statistics) -> dict[int, float]:
        """Reciprocal rank fusion of the BM25 ranking and the embedder's."""
        assert self._embedder is not None
        if statistics.vectors is None:
            servers = sorted(self._vectors)
            statistics.vectors = self._embedder.stack([self._vectors[server] for server in servers])
            statistics.vector_rows = [entry_id for server in servers for entry_id in self._by_server[server]]
        entries = self._entries
        lexical = heapq.nsmallest(
            _FUSION_DEPTH, scores.items(), key=lambda item: (-item[1], entries[item[0]].document.name)
        )
        fused: dict[int, float] = defaultdict(float)
        for rank, (entry_id, _) in enumerate(lexical):
            fused[entry_id] += LEXICAL_WEIGHT / (_RRF_K + rank + 1)
        for rank, row in enumerate(self._embedder.nearest(query, statistics.vectors, _FUSION_DEPTH)):
            fused[statistics.vector_rows[row]] += SEMANTIC_WEIGHT / (_RRF_K + rank + 1)
        return fused

    def _current_statistics(self) -> _Statistics:
        if self._statistics is None:
            count = len(self._entries)
            averages = [total / count if count else 0.0 for total in self._length_sums]
            norms: dict[int, tuple[float, ...]] = {}
            for entry_id, entry in self._entries.items():
                norms[entry_id] = tuple(
                    1.0 - spec.b + spec.b * (length / average if average else 0.0)
                    for spec, length, average in zip(FIELDS, entry.lengths, averages, strict=True)
                )
            document_frequency = {term: len(postings) for term, postings in self._postings.items()}
            self._statistics = _Statistics(norms, {}, expansion.Vocabulary(document_frequency, count))
        return self._statistics

    def _scored(self, term: str, statistics: _Statistics) -> tuple[list[int], list[float]]:
        """Every entry holding `term` and its BM25F score for it (cached until the catalogue changes)."""
        cached = statistics.scored.get(term)
        if cached is not None:
            return cached
        postings = self._postings.get(term)
        if not postings:
            statistics.scored[term] = ([], [])
            return statistics.scored[term]
        count = len(self._entries)
        primary = self._primary_frequency.get(term, 0)
        frequency = primary + PARAMETER_ONLY_FREQUENCY * (len(postings) - primary)
        idf = math.log(1.0 + (count - frequency + 0.5) / (frequency + 0.5))
        entry_ids = list(postings)
        term_scores: list[float] = []
        mask = _TF_MAX
        for entry_id in entry_ids:
            packed = postings[entry_id]
            norms = statistics.norms[entry_id]
            weighted = 0.0
            position = 0
            while packed:
                occurrences = packed & mask
                if occurrences:
                    spec = FIELDS[position]
                    weighted += spec.weight * occurrences / norms[position]
                packed >>= _TF_BITS
                position += 1
            term_scores.append(idf * weighted * (K1 + 1.0) / (weighted + K1))
        statistics.scored[term] = (entry_ids, term_scores)
        return statistics.scored[term]
