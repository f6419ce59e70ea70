"""Protocol revisions the gateway speaks, and version negotiation for the handshake era.

The values mirror `mcp_types.version` (a unit test keeps them equal); they are spelled out here because
importing `mcp_types` loads every wire model, which the gateway's start-up does not need.
"""

from __future__ import annotations

LEGACY_VERSIONS: tuple[str, ...] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)
LATEST_LEGACY = LEGACY_VERSIONS[-1]


def negotiate_legacy(requested: object) -> str:
    """The version to answer an `initialize` with: the client's if we speak it, else our latest."""
    if isinstance(requested, str) and requested in LEGACY_VERSIONS:
        return requested
    return LATEST_LEGACY
