"""The registry's active API keys, held in memory for the HTTP front and kept fresh off the hot path.

Finding a key costs one SHA-256 and a dict lookup by the key id the secret names; the stored digest is then
compared in constant time. Every second a watcher reads the registry's key version (one small query) and
reloads the keys when it moved, so a key revoked from the CLI or the admin API stops working within about a
second, and the sessions it opened are closed through `on_revoked`. When keys were last used is written in
batches, never per request.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import anyio

from switchyard.registry.api_keys import hash_secret, key_id_of
from switchyard.registry.records import ApiKey

log = logging.getLogger("switchyard.auth")

REFRESH_INTERVAL = 1.0  # seconds between version checks: how long a revoked key may still work
USE_FLUSH_INTERVAL = 30.0  # seconds between writes of last-used times


class KeySource(Protocol):
    """What the keyring reads: the registry `Store`."""

    async def active_api_keys(self) -> dict[str, ApiKey]: ...

    async def api_keys_version(self) -> int: ...

    async def record_api_key_use(self, last_used: dict[str, datetime]) -> None: ...


class KeyRing:
    def __init__(self, source: KeySource) -> None:
        self._source = source
        self._keys: dict[str, tuple[str, ApiKey]] = {}  # key id -> (secret digest, key)
        self._version: int | None = None
        self._used: dict[str, datetime] = {}

    async def load(self) -> set[str]:
        """Read the keys if their version moved; returns the ids of keys that are gone (revoked)."""
        version = await self._source.api_keys_version()
        if version == self._version:
            return set()
        keys = await self._source.active_api_keys()
        fresh = {key.key_id: (digest, key) for digest, key in keys.items()}
        gone = set(self._keys) - set(fresh)
        self._keys, self._version = fresh, version
        return gone

    def find(self, secret: str) -> ApiKey | None:
        """The active key whose secret this is, or None."""
        key_id = key_id_of(secret)
        if key_id is None:
            return None
        entry = self._keys.get(key_id)
        if entry is None or not hmac.compare_digest(entry[0], hash_secret(secret)):
            return None
        self._used[key_id] = datetime.now(UTC)
        return entry[1]

    async def watch(self, on_revoked: Callable[[set[str]], None]) -> None:
        """Reload on change every REFRESH_INTERVAL, telling `on_revoked` which keys went; runs until cancelled."""
        since_flush = 0.0
        while True:
            await anyio.sleep(REFRESH_INTERVAL)
            since_flush += REFRESH_INTERVAL
            try:
                gone = await self.load()
                if gone:
                    on_revoked(gone)
                if since_flush >= USE_FLUSH_INTERVAL and self._used:
                    used, self._used = self._used, {}
                    since_flush = 0.0
                    await self._source.record_api_key_use(used)
            except Exception:  # a database hiccup must not end the watcher: the keys in memory stay valid
                log.exception("could not refresh API keys from the registry")
