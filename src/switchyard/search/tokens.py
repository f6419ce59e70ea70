"""Text to search terms: identifier splitting, lower-casing, stop words and Snowball (Porter 2) stemming.

Tool names and parameter names are identifiers (`get_file_contents`, `listPullRequests`, `github__create_issue`,
`retry-max-delay`, `ipv4Address`): they are cut at `_`, `-`, `.`, `/`, `__`, camelCase humps and letter/digit
boundaries, keeping the whole word too when digits are glued to letters (`s3`, `base64`, `oauth2`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]

_WORD = re.compile(r"[A-Za-z0-9]+")
# camelCase humps; digits stay glued to the letters before them ("getS3Object" -> get, S3, Object)
_HUMP = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
_GLUED_DIGITS = re.compile(r"([a-z]{2,})[0-9]+")

# Function words and the filler of requests ("please can you show me how to ...") that say nothing about which
# tool is meant. Verbs that name operations (get, list, find, show, create...) are kept: they separate tools.
_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been before being below between
    both but by could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just let me might more most must my myself no nor not
    now of off on once only or other our ours ourselves out over own please same she should so some such than that
    the their theirs them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself yourselves can cannot
    want wants need needs like thanks thank hey hi ok okay give tell
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

# snowballstemmer runs PyStemmer's C build of the same algorithm when it is installed (same stems, ~20x faster,
# which is most of a cold index build); its own pure-Python code otherwise.
_stemmer = snowballstemmer.stemmer("english")


def stem(word: str) -> str:
    stemmed: str = _stemmer.stemWord(word)
    return stemmed


@lru_cache(maxsize=1 << 17)
def _chunk_words(chunk: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in _HUMP.findall(chunk):
        word = part.lower()
        out.append(word)
        glued = _GLUED_DIGITS.fullmatch(word)
        if glued:
            out.append(glued.group(1))  # "base64" is also found by "base"
    return tuple(out)


@lru_cache(maxsize=1 << 17)
def _chunk_terms(chunk: str) -> tuple[str, ...]:
    out: list[str] = []
    chunk_words = _chunk_words(chunk)
    if len(chunk_words) == 2 and chunk.isalpha():
        chunk_words += (chunk.lower(),)  # a brand in two humps ("MySQL", "GitHub") is also the word others write
    for word in chunk_words:
        if word in STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        root = stem(word)
        out.append(root)
        if root != word:
            out.append(word)
    return tuple(out)


def words(text: str) -> list[str]:
    """Lower-case words of `text`, identifiers split into their parts (stop words kept)."""
    out: list[str] = []
    for chunk in _WORD.findall(text):
        out.extend(_chunk_words(chunk))
    return out


@lru_cache(maxsize=1 << 14)
def terms(text: str) -> tuple[str, ...]:
    """Search terms of `text`, stop words dropped, repeats kept (term frequency counts).

    Each word gives its stem, and the word itself as a second term when it differs: "keys" matches "key" through
    the stem, and matches a text that says "keys" better still (plurals tell list tools from get tools). Cached:
    tool catalogues repeat their texts (shared parameters, the same server behind several names).
    """
    out: list[str] = []
    for chunk in _WORD.findall(text):
        out.extend(_chunk_terms(chunk))
    return tuple(out)


# Where a request moves on to its next step: punctuation, "and", "then", "after that"...
_CLAUSE_BREAK = re.compile(
    r"[,;:!?]+\s|\.\s|\s+(?:and then|and|then|after that|afterwards|also|plus)\s+", re.IGNORECASE
)


def clauses(text: str) -> list[str]:
    """The steps of a request with more than one ("read X and email it to Y"), or [] when it has one."""
    parts = [part for part in _CLAUSE_BREAK.split(text) if terms(part)]
    return parts if len(parts) > 1 else []
