"""Public names for backend tools and prompts: `{prefix}{separator}{name}`, or the original name.

Names stay within `[A-Za-z0-9_-]` and `max_length` when prefixed (what the model APIs behind most clients
accept); a longer name is cut and given a short stable hash suffix, so the same input always gives the
same public name.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

NamingMode = Literal["prefix", "none", "auto"]
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_HASH_LENGTH = 6


def sanitize(text: str) -> str:
    return _UNSAFE.sub("_", text) or "_"


def fit(name: str, max_length: int) -> str:
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    return f"{name[: max_length - _HASH_LENGTH - 1]}_{digest}"


def prefixed(prefix: str, name: str, separator: str, max_length: int) -> str:
    return fit(f"{sanitize(prefix)}{separator}{sanitize(name)}", max_length)


@dataclass(frozen=True, slots=True)
class NameRequest:
    server: str
    prefix: str
    name: str


@dataclass(frozen=True, slots=True)
class Collision:
    name: str
    servers: tuple[str, ...]


def assign(
    requests: Sequence[NameRequest],
    *,
    mode: NamingMode,
    separator: str,
    max_length: int,
    reserved: frozenset[str] = frozenset(),
) -> tuple[dict[tuple[str, str], str], list[Collision]]:
    """Map (server, original name) to a public name; report names that two servers both claim.

    `auto` prefixes only the names that collide; `none` keeps the first server's (in config order) and
    drops the others, reporting the collision so that `config check` can fail on it. A `reserved` name (the
    gateway's own tools) is prefixed in every mode.
    """
    by_name: dict[str, list[NameRequest]] = defaultdict(list)
    for request in requests:
        by_name[request.name].append(request)
    collisions = [
        Collision(name, tuple(dict.fromkeys(r.server for r in group)))
        for name, group in by_name.items()
        if len({r.server for r in group}) > 1
    ]
    colliding = {c.name for c in collisions}

    names: dict[tuple[str, str], str] = {}
    taken: set[str] = set(reserved)
    for request in requests:
        key = (request.server, request.name)
        if mode == "prefix" or request.name in reserved or (mode == "auto" and request.name in colliding):
            public = prefixed(request.prefix, request.name, separator, max_length)
        else:
            public = request.name
        if public in taken:  # `none` collision, or two prefixed names that sanitise alike
            if mode != "none" or public in reserved:
                public = fit(f"{public}{separator}{sanitize(request.server)}", max_length)
            if public in taken:
                continue
        taken.add(public)
        names[key] = public
    return names, collisions
