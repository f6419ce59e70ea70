"""Query expansion: the words a query should also match, weighted below the words it has.

Two general sources, neither fitted to a catalogue:
* a small thesaurus of the words people and tool authors use for the same operations and objects
  ("remove" / "delete", "folder" / "directory"), kept only where the catalogue has the other word;
* the catalogue's own vocabulary for words it lacks: a query word that is a prefix or an abbreviation of catalogue
  words ("repo" -> "repository", "config" -> "configuration") matches them, and one that glues two catalogue
  words together ("cosmosdb") matches both.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from switchyard.search.tokens import terms

SYNONYM_WEIGHT = 0.3
PREFIX_WEIGHT = 0.5
_MAX_PREFIX_MATCHES = 3

_SYNONYM_GROUPS = [
    "create make new add insert register open start",
    "delete remove erase destroy drop purge discard",
    "update edit modify change patch alter set rename",
    "get fetch retrieve read obtain load view show display describe inspect",
    "list enumerate browse",
    "search find lookup query locate filter",
    "send post publish notify",
    "message msg chat dm",
    "write save store put persist record",
    "file document doc",
    "directory folder dir",
    "repository repo",
    "database db",
    "email mail inbox",
    "issue ticket bug",
    "event meeting appointment",
    "user member person people account",
    "image picture photo screenshot",
    "url link webpage page website",
    "download fetch",
    "upload attach",
    "run execute invoke launch trigger",
    "stop terminate kill halt cancel",
    "schedule calendar",
    "payment charge invoice billing",
    "customer client",
    "copy duplicate clone",
    "move transfer relocate",
    "comment reply note",
    "time clock date",
    "log logs trace",
    "metric metrics stats statistics",
    "permission access role",
    "secret credential password token key",
    "container pod",
    "config configuration settings setting",
    "summary summarize overview",
]


def _groups() -> dict[str, frozenset[str]]:
    by_term: dict[str, set[str]] = {}
    for line in _SYNONYM_GROUPS:
        group = set(terms(line))
        for term in group:
            by_term.setdefault(term, set()).update(group - {term})
    return {term: frozenset(others) for term, others in by_term.items()}


SYNONYMS = _groups()


@dataclass(slots=True)
class Vocabulary:
    """The catalogue's terms and how many tools hold each."""

    document_frequency: Mapping[str, int]
    documents: int
    _sorted: list[str] = field(default_factory=list)

    def __contains__(self, term: str) -> bool:
        return term in self.document_frequency

    def extending(self, prefix: str) -> list[str]:
        """Catalogue terms that start with `prefix` (most common first)."""
        if not self._sorted:
            self._sorted = sorted(self.document_frequency)
        start = bisect.bisect_left(self._sorted, prefix)
        found: list[str] = []
        for term in self._sorted[start:]:
            if not term.startswith(prefix):
                break
            if term != prefix:
                found.append(term)
        found.sort(key=lambda term: (-self.document_frequency[term], term))
        return found[:_MAX_PREFIX_MATCHES]


def expand(query_terms: Sequence[str], vocabulary: Vocabulary) -> dict[str, float]:
    """Each term to search for and its weight: the query's own terms 1.0, the others less."""
    weights: dict[str, float] = dict.fromkeys(query_terms, 1.0)

    def add(term: str, weight: float) -> None:
        if term in vocabulary and weights.get(term, 0.0) < weight:
            weights[term] = weight

    for term in dict.fromkeys(query_terms):
        for synonym in SYNONYMS.get(term, ()):
            add(synonym, SYNONYM_WEIGHT)
        if term not in vocabulary and len(term) >= 3:
            for longer in vocabulary.extending(term):
                add(longer, PREFIX_WEIGHT)
            for part in _split(term, vocabulary):
                add(part, PREFIX_WEIGHT)
    return weights


def _split(word: str, vocabulary: Vocabulary) -> tuple[str, ...]:
    """A word the catalogue lacks, cut into two words it has ("cosmosdb" -> cosmos, db), longest head first."""
    for cut in range(len(word) - 2, 2, -1):
        head, tail = word[:cut], word[cut:]
        if head in vocabulary and tail in vocabulary:
            return head, tail
    return ()
