"""Bearer JWTs in OAuth resource-server mode: checked against the issuer's JWKS, as RFC 8725 advises.

Each JWKS key is pinned to one asymmetric algorithm (its `alg`, else the one its type and curve imply); a
token is verified only with the algorithm of the key its `kid` names, so `none` and HMAC-with-a-public-key
never verify. `kid` is only a dictionary key. Tokens with a `crit` header and JWEs are refused. `iss`, `aud`,
`exp` and `sub` are required; `nbf` and `iat` are honoured; the clock skew allowed is at most 60 s.

The JWKS is read from a file or fetched with httpx (asynchronously) and cached; an unknown `kid` triggers a
re-fetch at most once a minute (key rotation), and a URL is re-fetched every `jwks_refresh` seconds.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import jwt

from switchyard.config import OAuthConfig

log = logging.getLogger("switchyard.auth")

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_CURVE_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "Ed25519": "EdDSA", "Ed448": "EdDSA"}
UNKNOWN_KID_REFETCH = 60.0  # seconds: the least time between fetches caused by unknown key ids
MAX_JWKS_BYTES = 1 << 20
FETCH_TIMEOUT = 10.0
_CACHED_TOKENS = 4096  # verified tokens remembered until they expire (saves a signature check per request)


class TokenRejected(Exception):
    """A token that does not verify; `reason` is for the audit log only (clients all see the same answer)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PinnedKey:
    key: Any  # the public key object
    algorithm: str


def pin_keys(jwks: Any) -> dict[str | None, PinnedKey]:
    """kid -> key and its one algorithm, for each usable signing key of a JWKS document (others are skipped)."""
    keys: dict[str | None, PinnedKey] = {}
    for entry in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        algorithm = entry.get("alg") or _implied_algorithm(entry)
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            continue  # HMAC ("oct") keys, "none" and unknown algorithms never verify anything
        try:
            key = jwt.PyJWK(entry, algorithm).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        kid = entry.get("kid")
        keys[kid if isinstance(kid, str) else None] = PinnedKey(key, algorithm)
    return keys


def _implied_algorithm(entry: dict[str, Any]) -> str | None:
    if entry.get("kty") == "RSA":
        return "RS256"
    if entry.get("kty") in ("EC", "OKP"):
        return _CURVE_ALGORITHMS.get(str(entry.get("crv")))
    return None


class TokenVerifier:
    def __init__(self, config: OAuthConfig, audiences: list[str]) -> None:
        self.config = config
        self.audiences = audiences
        self._keys: dict[str | None, PinnedKey] = {}
        self._fetched_at: float | None = None
        self._lock = anyio.Lock()
        self._verified: dict[str, tuple[dict[str, Any], float]] = {}  # token -> (claims, exp)

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or TokenRejected with the precise reason."""
        cached = self._verified.get(token)
        if cached is not None:
            claims, expires = cached
            if time.time() < expires + self.config.clock_skew:
                return claims
            del self._verified[token]
            raise TokenRejected("expired")
        if token.count(".") != 2:  # a JWE has five parts; anything else is not a compact JWS
            raise TokenRejected("invalid_token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenRejected("invalid_token") from None
        if "crit" in header:  # no extension is understood here, so none may be critical
            raise TokenRejected("invalid_token")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("invalid_token")
        key = await self._key(kid)
        claims = self._decode(token, key)
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise TokenRejected("invalid_token")
        if len(self._verified) >= _CACHED_TOKENS:
            self._verified.clear()
        self._verified[token] = (claims, float(claims["exp"]))
        return claims

    def _decode(self, token: str, key: PinnedKey) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self.audiences,
                issuer=self.config.issuer,
                leeway=self.config.clock_skew,
                options={"require": ["exp", "iss", "aud", "sub"], "strict_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("not_yet_valid") from None
        except jwt.MissingRequiredClaimError as exc:
            reason = {"exp": "no_exp", "aud": "aud_mismatch", "iss": "iss_mismatch"}.get(exc.claim, "invalid_token")
            raise TokenRejected(reason) from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("aud_mismatch") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("iss_mismatch") from None
        except jwt.InvalidTokenError:
            raise TokenRejected("invalid_token") from None
        return claims

    async def _key(self, kid: str | None) -> PinnedKey:
        now = time.monotonic()
        stale = self._fetched_at is None or now - self._fetched_at >= self.config.jwks_refresh
        if stale or (kid not in self._keys and now - (self._fetched_at or 0.0) >= UNKNOWN_KID_REFETCH):
            await self._refresh()
        key = self._keys.get(kid)
        if key is None and kid is None and len(self._keys) == 1:
            key = next(iter(self._keys.values()))  # no kid, one key: the only one it can be
        if key is None:
            raise TokenRejected("invalid_token")
        return key

    async def _refresh(self) -> None:
        async with self._lock:
            if self._fetched_at is not None and time.monotonic() - self._fetched_at < 1.0:
                return  # another request just fetched it
            try:
                self._keys = pin_keys(json.loads(await self._read_jwks()))
            except (OSError, ValueError, httpx2.HTTPError) as exc:
                # Keep the keys we have (a flaky IdP must not lock everyone out); retry after a while.
                log.warning("could not read the JWKS from %s: %s", self.config.jwks, exc)
            self._fetched_at = time.monotonic()

    async def _read_jwks(self) -> bytes:
        source = self.config.jwks
        if "://" not in source:
            return await anyio.Path(source).read_bytes()
        async with (
            httpx2.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as http,
            http.stream("GET", source, headers={"accept": "application/json"}) as response,
        ):
            response.raise_for_status()
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"JWKS at {source} is larger than {MAX_JWKS_BYTES} bytes")
            return bytes(body)
