"""The gateway spells some SDK constants out (to keep start-up light); they must stay equal to the SDK's."""

from __future__ import annotations

import mcp_types
from mcp_types import methods, version

from switchyard.protocol import modern, versions


def test_versions_match_the_sdk() -> None:
    assert tuple(version.HANDSHAKE_PROTOCOL_VERSIONS) == versions.LEGACY_VERSIONS
    assert tuple(version.MODERN_PROTOCOL_VERSIONS) == versions.MODERN_VERSIONS


def test_envelope_keys_and_cacheable_methods_match_the_sdk() -> None:
    assert modern.PROTOCOL_VERSION_META_KEY == mcp_types.PROTOCOL_VERSION_META_KEY
    assert modern.CLIENT_CAPABILITIES_META_KEY == mcp_types.CLIENT_CAPABILITIES_META_KEY
    assert modern.CLIENT_INFO_META_KEY == mcp_types.CLIENT_INFO_META_KEY
    assert modern.LOG_LEVEL_META_KEY == mcp_types.LOG_LEVEL_META_KEY
    assert modern.SERVER_INFO_META_KEY == mcp_types.SERVER_INFO_META_KEY
    assert frozenset(methods.CACHEABLE_METHODS) == modern.CACHEABLE_METHODS
