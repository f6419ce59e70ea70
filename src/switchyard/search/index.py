"""The tool index: BM25F over the fields of each tool definition, updated one server at a time.

Each tool is cut into fields (its name, title, description, parameter names, parameter descriptions and enum
values, and the server's name and description), each field with its own weight and length normalisation (BM25F).
A query is stemmed like the documents and widened with words the catalogue itself suggests (see `expansion`);
an optional `Embedder` adds a semantic ranking fused by scaled score and rank.

Postings are kept per term and changed only for the server that changed; what depends on the whole catalogue
(document frequencies are kept exactly, average field lengths and the per-term score lists derived from them) is
recomputed lazily on the next search after a change.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from switchyard.search import expansion
from switchyard.search.tokens import clauses, stem, terms, words


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

    def nearest(self, queries: Sequence[str], matrix: Any, limit: int) -> list[list[tuple[int, float]]]:
        """For each query, the rows of `matrix` most similar to it and their similarity, best first, at most
        `limit`."""
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
_RRF_K = 10  # reciprocal rank fusion: 1 / (k + rank); a small k lets each ranker's first places count
_FUSION_DEPTH = 100  # how deep each ranking takes part in the fusion
_PARAMETERS_ONLY = 1  # the tier of _scored's entries that hold a term only in their parameters
_COMMON_FROM = 1000
_COMMON_SHARE = 0.05
_PRUNE_FROM = 64  # terms held by fewer tools are always added in full: cheap, and keeps small catalogues exact
# Hybrid fusion: each ranker's scores scaled to [0, 1] (BM25 by its best, similarity between the best and the
# `_FUSION_DEPTH`-th) and added, plus reciprocal-rank fusion at RANK_SHARE of that, rank 1 = 1.0. Scores keep how
# far ahead a ranker's first choice is (which rank fusion throws away); ranks keep one ranker's flat run of
# near-equal scores from deciding alone.
# A query naming its objects by placeholder: how much the tools that take each of them as a parameter are lifted
# (a share of the best score, for all of them), among the best few.
PLACEHOLDER_WEIGHT = 0.2
_PLACEHOLDER_DEPTH = 30
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 1.0
RANK_SHARE = 0.5


def document_fields(document: ToolDocument) -> tuple[list[str], ...]:
    """The search terms of each of FIELDS, in order."""
    parameter_names: list[str] = []
    parameter_text: list[str] = []
    _walk_schema(document.input_schema, parameter_names, parameter_text, depth=0)
    description = terms(document.description)
    return (
        [*terms(document.tool), *compound_parts(document.tool, description)],
        list(terms(document.title)),
        list(description),
        [term for name in parameter_names for term in terms(name)],
        [term for text in parameter_text for term in terms(text)],
        [*terms(document.server), *terms(document.server_description)],
    )


_SENTENCE_END = re.compile(r"(?<=[.!?])\s|\n")


def compound_parts(name: str, context: Sequence[str]) -> list[str]:
    """Terms for the words glued together in a name ("worklog", "freebusy"), split where both halves are words
    of the tool's own description ("Log time spent working", "free/busy information")."""
    known = set(context)
    out: list[str] = []
    for word in words(name):
        if len(word) < 6 or word in known or stem(word) in known:
            continue
        for cut in range(3, len(word) - 2):
            head, tail = word[:cut], word[cut:]
            if (head in known or stem(head) in known) and (tail in known or stem(tail) in known):
                out.extend(terms(f"{head} {tail}"))
                break
    return out


_PLACEHOLDER = re.compile(r"<([^<>]{2,60})>|\{([^{}]{2,60})\}")
_NAME_SUFFIX = re.compile(r"[_\- ]?(?:name|id)$", re.IGNORECASE)


def _fold(identifier: str) -> str:
    """An identifier without case or separators: `event-hub`, `eventHub` and `event_hub` are one name."""
    return re.sub(r"[^a-z0-9]", "", identifier.lower())


def query_placeholders(query: str) -> list[str]:
    """The placeholders a query names its objects with ("<resource_group_name>", "{vault}"), folded, without a
    trailing name/id."""
    found = (_fold(_NAME_SUFFIX.sub("", angle or brace)) for angle, brace in _PLACEHOLDER.findall(query))
    return [placeholder for placeholder in found if len(placeholder) >= 3]


def parameter_keys(schema: Mapping[str, Any]) -> tuple[str, ...]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return ()
    return tuple(key for key in dict.fromkeys(_fold(str(name)) for name in properties) if len(key) >= 3)


def _walk_schema(schema: Any, names: list[str], text: list[str], depth: int) -> None:
    if not isinstance(schema, Mapping) or depth > 6:
        return
    if depth > 0:
        for key in ("description", "title"):
            value = schema.get(key)
            if isinstance(value, str):
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
    """One short plain text for the embedder: the tool's name in words, its title, the first two sentences of its
    description (what it does and on what; later sentences are details that blur the meaning), and which product
    it is."""
    summary = _SENTENCE_END.split(document.description.strip(), maxsplit=2)[:2]
    name = " ".join(words(document.tool))
    parts = [name, document.title, *summary, document.server_description or document.server]
    return ". ".join(part.rstrip(". ") for part in parts if part)


@dataclass(slots=True)
class _Entry:
    document: ToolDocument
    lengths: tuple[int, ...]
    terms: tuple[str, ...]  # distinct terms, to undo the postings on removal
    parameters: tuple[str, ...]  # its top-level parameter names, folded (see _fold)


@dataclass(slots=True)
class _Statistics:
    """What depends on the whole catalogue; rebuilt lazily after a change."""

    norms: dict[int, tuple[float, ...]] = field(default_factory=dict)  # per entry, per field: 1 - b + b*len/avg
    scored: dict[str, tuple[tuple[dict[int, float], float], ...]] = field(default_factory=dict)  # see _scored
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
        postings = self._postings
        primary_frequency = self._primary_frequency
        for document in documents:
            fields = document_fields(document)
            entry_id = self._next_id
            self._next_id += 1
            packed: dict[str, int] = {}  # term -> its count in each field, _TF_BITS per field
            for position, field_terms in enumerate(fields):
                shift = _TF_BITS * position
                for term, count in Counter(field_terms).items():
                    packed[term] = packed.get(term, 0) | ((count if count < _TF_MAX else _TF_MAX) << shift)
            for term, counts in packed.items():
                postings[term][entry_id] = counts
                if counts & _PRIMARY_MASK:
                    primary_frequency[term] += 1
            lengths = tuple(len(field_terms) for field_terms in fields)
            for position, length in enumerate(lengths):
                self._length_sums[position] += length
            self._entries[entry_id] = _Entry(document, lengths, tuple(packed), parameter_keys(document.input_schema))
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
        if not terms(query):
            return []

        def admissible(entry_id: int) -> bool:
            document = self._entries[entry_id].document
            if server is not None and document.server != server:
                return False
            return allowed is None or allowed(document.name)

        depth = max(limit * 4 + 8, _FUSION_DEPTH if self._embedder is not None else 0)
        while True:
            scores = self._scores(query, statistics, depth)
            best = self._best(scores, limit, admissible, depth)
            if best is not None:
                return [Hit(self._entries[entry_id].document, score) for entry_id, score in best]
            depth *= 4  # the filters refused most of the best: rank deeper

    def _scores(self, query: str, statistics: _Statistics, depth: int) -> dict[int, float]:
        """Every candidate's score for `query`: BM25F, the usage prior, and the embedder's ranking fused in."""
        query_terms = terms(query)
        assert statistics.vocabulary is not None
        scores = self._lexical_scores(expansion.expand(query_terms, statistics.vocabulary), statistics, depth)
        if self._successes:
            self._apply_usage_prior(scores, set(query_terms))
        if self._embedder is not None and self._vectors:
            scores = self._fused(query, scores, statistics, depth)
        placeholders = query_placeholders(query)
        if placeholders and scores:
            self._favour_accepting(scores, placeholders)
        return scores

    def _favour_accepting(self, scores: dict[int, float], placeholders: list[str]) -> None:
        """Lift the best few by the share of the query's placeholders ("<event_hub_name>") they take as parameters:
        "delete event hub <hub> in namespace <ns>" names a hub, which the namespace's delete tool cannot take."""
        best = heapq.nlargest(_PLACEHOLDER_DEPTH, scores.items(), key=lambda item: item[1])
        lift = PLACEHOLDER_WEIGHT * best[0][1] / len(placeholders)
        for entry_id, score in best:
            keys = self._entries[entry_id].parameters
            accepted = sum(1 for wanted in placeholders if any(key in wanted or wanted in key for key in keys))
            scores[entry_id] = score + lift * accepted

    def _lexical_scores(self, weighted: dict[str, float], statistics: _Statistics, depth: int) -> dict[int, float]:
        """BM25F scores, exact for the best `depth` entries (MaxScore).

        Term lists are added highest possible contribution first. Once the lists left could not together lift an
        entry that is in none of the lists so far above the `depth`-th best score, they are only added to the
        entries already found: on a large catalogue the common words ("list", "get") are never walked in full.
        """
        postings = []
        for term in sorted(weighted):
            for tier, (scored, top) in enumerate(self._scored(term, statistics)):
                if scored:
                    postings.append((len(scored), term, tier, weighted[term], scored, top))
        # Highest possible contribution first; the tail of low ones is what pruning skips.
        postings.sort(key=lambda item: (-item[3] * item[5], item[:3]))
        bound = sum(item[3] * item[5] for item in postings)
        scores: dict[int, float] = {}
        pruning = False
        common = max(_COMMON_FROM, _COMMON_SHARE * len(self._entries))
        for size, _, tier, weight, scored, top in postings:
            if not pruning and size > _PRUNE_FROM and len(scores) >= depth:
                threshold = heapq.nlargest(depth, scores.values())[-1]
                pruning = bound < threshold
                if pruning:  # and entries that cannot reach the threshold even with every list left are dropped
                    scores = {entry_id: score for entry_id, score in scores.items() if score + bound >= threshold}
            bound -= weight * top
            # A word held by a large share of a large catalogue, or only among the parameters of many tools (a shared
            # `page` or `tenant`), ranks the entries found by the other words; it finds none itself.
            if not scores:
                scores = (
                    dict(scored) if weight == 1.0 else {entry_id: weight * score for entry_id, score in scored.items()}
                )
            elif not pruning and size <= (common if tier != _PARAMETERS_ONLY else _PRUNE_FROM):
                get = scores.get
                for entry_id, score in scored.items():
                    scores[entry_id] = get(entry_id, 0.0) + weight * score
            elif len(scores) < size:
                for entry_id in scores:
                    found = scored.get(entry_id)
                    if found is not None:
                        scores[entry_id] += weight * found
            else:
                for entry_id, score in scored.items():
                    if entry_id in scores:
                        scores[entry_id] += weight * score
        return scores

    def _best(
        self, scores: dict[int, float], limit: int, admissible: Callable[[int], bool], depth: int
    ) -> list[tuple[int, float]] | None:
        """The `limit` best admissible entries, or None when they may lie deeper than `depth`."""
        entries = self._entries
        if len(scores) > depth:
            threshold = heapq.nlargest(depth, scores.values())[-1]
            pool = [item for item in scores.items() if item[1] >= threshold]
        else:
            pool = list(scores.items())
        pool.sort(key=lambda item: (-item[1], entries[item[0]].document.name))
        best = [item for item in pool if admissible(item[0])]
        if len(best) >= limit or depth >= len(entries):
            return best[:limit]
        return None

    def _apply_usage_prior(self, scores: dict[int, float], query_terms: set[str]) -> None:
        for entry_id, score in scores.items():
            remembered = self._successes.get(self._entries[entry_id].document.name)
            if remembered:
                shared = sum(min(remembered[term], 3) for term in query_terms if term in remembered)
                if shared:
                    scores[entry_id] = score * (1.0 + 0.05 * shared)

    def _fused(self, query: str, scores: dict[int, float], statistics: _Statistics, depth: int) -> dict[int, float]:
        """The BM25 ranking and the embedder's, fused by scaled score and by rank (see RANK_SHARE)."""
        assert self._embedder is not None
        if statistics.vectors is None:
            servers = sorted(self._vectors)
            statistics.vectors = self._embedder.stack([self._vectors[server] for server in servers])
            statistics.vector_rows = [entry_id for server in servers for entry_id in self._by_server[server]]
        entries = self._entries
        lexical = heapq.nsmallest(depth, scores.items(), key=lambda item: (-item[1], entries[item[0]].document.name))
        semantic = self._semantic(query, statistics.vectors, depth)
        rows = statistics.vector_rows
        fused: dict[int, float] = defaultdict(float)
        top = lexical[0][1] if lexical and lexical[0][1] > 0 else 1.0
        for rank, (entry_id, score) in enumerate(lexical):
            fused[entry_id] += LEXICAL_WEIGHT * (score / top + RANK_SHARE * (_RRF_K + 1) / (_RRF_K + rank + 1))
        ranked = sorted(semantic.items(), key=lambda item: (-item[1], item[0]))
        for rank, (row, similarity) in enumerate(ranked):
            fused[rows[row]] += SEMANTIC_WEIGHT * (similarity + RANK_SHARE * (_RRF_K + 1) / (_RRF_K + rank + 1))
        return fused

    def _semantic(self, query: str, vectors: Any, depth: int) -> dict[int, float]:
        """The embedder's best rows, each with its similarity scaled to 1 for the best and 0 for the `depth`-th.

        A request of several steps is also embedded step by step and each row keeps its best: one vector for "find
        the bug and post it to Slack" sits between the two tools it needs, each step's vector sits on its own tool.
        """
        assert self._embedder is not None
        out: dict[int, float] = {}
        for ranking in self._embedder.nearest([query, *clauses(query)], vectors, depth):
            if not ranking:
                continue
            best, floor = ranking[0][1], ranking[-1][1]
            spread = best - floor if best > floor else 1.0
            for row, similarity in ranking:
                scaled = (similarity - floor) / spread
                if scaled > out.get(row, -1.0):
                    out[row] = scaled
        return out

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

    def _scored(self, term: str, statistics: _Statistics) -> tuple[tuple[dict[int, float], float], ...]:
        """The BM25F score of `term` for every entry holding it, with the highest score (cached until a change).

        Two disjoint lists: the entries that have the term in a main field, and those that have it only in their
        parameters. The second is often long (a parameter every tool of a product shares) but scores low, so the
        pruning in `_lexical_scores` seldom walks it.
        """
        cached = statistics.scored.get(term)
        if cached is not None:
            return cached
        postings = self._postings.get(term, {})
        count = len(self._entries)
        primary = self._primary_frequency.get(term, 0)
        frequency = primary + PARAMETER_ONLY_FREQUENCY * (len(postings) - primary)
        idf = math.log(1.0 + (count - frequency + 0.5) / (frequency + 0.5))
        main: dict[int, float] = {}
        parameters_only: dict[int, float] = {}
        mask = _TF_MAX
        norms_of = statistics.norms
        for entry_id, packed in postings.items():
            tier = main if packed & _PRIMARY_MASK else parameters_only
            norms = norms_of[entry_id]
            weighted = 0.0
            position = 0
            while packed:
                occurrences = packed & mask
                if occurrences:
                    weighted += FIELDS[position].weight * occurrences / norms[position]
                packed >>= _TF_BITS
                position += 1
            tier[entry_id] = idf * weighted * (K1 + 1.0) / (weighted + K1)
        statistics.scored[term] = tuple((tier, max(tier.values(), default=0.0)) for tier in (main, parameters_only))
        return statistics.scored[term]
