"""API key secrets: their format `sy_<key id>_<32 random URL-safe characters>`, and the digest stored for them."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "sy_"
_RANDOM_BYTES = 24  # 32 URL-safe characters


def new_key_id() -> str:
    """A short public identifier for a key (16 hex characters, no separator in it)."""
    return secrets.token_hex(8)


def new_secret(key_id: str) -> str:
    """A fresh secret for `key_id`: shown once, never stored."""
    return f"{PREFIX}{key_id}_{secrets.token_urlsafe(_RANDOM_BYTES)}"


def hash_secret(secret: str) -> str:
    """What the registry stores and compares: hex SHA-256 of the whole secret (it is random, so no salt is needed)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def key_id_of(secret: str) -> str | None:
    """The key id a secret names, or None when it does not have the key format."""
    if not secret.startswith(PREFIX):
        return None
    key_id, sep, rest = secret[len(PREFIX) :].partition("_")
    return key_id if sep and key_id and rest else None
