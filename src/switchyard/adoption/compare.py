"""Comparing what a server exposes directly with what the gateway exposes for it, in words.

Definitions are compared field by field (the gateway's public name aside). Call results are compared modulo
volatile content: `_meta` (per-request metadata) is ignored, and inside strings timestamps, dates, times of day,
UUIDs and runs of ten or more digits (epoch times, counters) are masked, so a clock or a request id that moved
between the two calls is not a difference while anything else is.
"""

from __future__ import annotations

import re
from typing import Any

FIELD_NAMES = {
    "description": "description",
    "inputSchema": "input schema",
    "outputSchema": "output schema",
    "annotations": "annotations",
    "title": "title",
    "arguments": "arguments",
    "mimeType": "MIME type",
}

_VOLATILE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # ISO date(-time)
    r"|\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\b"  # a time of day
    r"|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"  # a UUID
    r"|\d{10,}"  # epoch seconds or milliseconds, counters
)


def field_differences(direct: dict[str, Any], through: dict[str, Any], identity: str) -> list[str]:
    """The fields of one definition that differ, e.g. ["description", "input schema"]."""
    keys = (set(direct) | set(through)) - {identity}
    return sorted(FIELD_NAMES.get(key, key) for key in keys if direct.get(key) != through.get(key))


def stable(value: Any) -> Any:
    """`value` with its volatile content masked (see the module docstring)."""
    if isinstance(value, str):
        return _VOLATILE.sub("<volatile>", value)
    if isinstance(value, dict):
        return {key: stable(item) for key, item in value.items() if key != "_meta"}
    if isinstance(value, list):
        return [stable(item) for item in value]
    return value


def result_difference(direct: Any, through: Any, at: str = "") -> str | None:
    """Where two call results first differ once volatile content is masked (a JSON path), or None."""
    direct, through = stable(direct), stable(through)
    return _first_difference(direct, through, at)


def _first_difference(direct: Any, through: Any, at: str) -> str | None:
    if isinstance(direct, dict) and isinstance(through, dict):
        for key in sorted(set(direct) | set(through)):
            found = _first_difference(direct.get(key), through.get(key), f"{at}.{key}" if at else key)
            if found is not None:
                return found
        return None
    if isinstance(direct, list) and isinstance(through, list):
        if len(direct) != len(through):
            return f"{at or 'result'} has {len(direct)} items directly, {len(through)} through the gateway"
        for index, (mine, theirs) in enumerate(zip(direct, through, strict=True)):
            found = _first_difference(mine, theirs, f"{at}[{index}]")
            if found is not None:
                return found
        return None
    return None if direct == through else (at or "result")
