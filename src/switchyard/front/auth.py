"""Who is calling the HTTP front: API keys from the registry and OAuth 2.1 bearer JWTs, checked per request.

Every request must carry a currently valid credential (a session id is not one). With `auth` off, every
request is the local user: that is the zero-config default, and it is refused on a non-loopback address
unless explicitly allowed. Refusals say as little as possible to the client (one body for every bad token,
`WWW-Authenticate` as RFC 6750 and RFC 9728 ask) while the audit log gets the precise reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse, Response

from switchyard.config import AuthConfig
from switchyard.front.guard import LOOPBACK_HOSTS
from switchyard.front.keyring import KeyRing, KeySource
from switchyard.front.tokens import TokenRejected, TokenVerifier
from switchyard.registry.api_keys import PREFIX as API_KEY_PREFIX

METADATA_PATH = "/.well-known/oauth-protected-resource"
_MISSING = {"error": "unauthorized", "error_description": "Authentication required: send Authorization: Bearer"}
_INVALID = {"error": "invalid_token", "error_description": "The access token is invalid, expired or revoked"}


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller: a principal (API key name, JWT `sub`, or "local"), its role and profile."""

    principal: str
    role: str = "client"
    profile: str | None = None  # the profile its credential is bound to; None: any
    key_id: str | None = None  # the API key it presented (revoking it ends its sessions)


LOCAL = Identity("local")


class AuthRefused(Exception):
    """No valid credential; `reason` is the audit reason, `presented` whether a token came at all."""

    def __init__(self, reason: str, *, presented: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.presented = presented


class UnsafeBind(Exception):
    """Serving a non-loopback address without authentication, which was not explicitly allowed."""


def check_bind(host: str, config: AuthConfig, allow_unauthenticated: bool = False) -> None:
    if config.enabled or host in LOOPBACK_HOSTS or allow_unauthenticated or config.allow_unauthenticated_remote:
        return
    raise UnsafeBind(
        f"refusing to serve {host} without authentication: anyone who can reach it could use every backend. "
        "Turn on auth (auth.api_keys: true and `switchyard keys create NAME`, or auth.oauth), bind 127.0.0.1, "
        "or pass --allow-unauthenticated (config: auth.allow_unauthenticated_remote: true)"
    )


class Authenticator:
    def __init__(self, config: AuthConfig, store: KeySource | None) -> None:
        if config.api_keys and store is None:
            raise ValueError("auth.api_keys needs the registry (the keys live there)")
        self.config = config
        self.keys = KeyRing(store) if config.api_keys and store is not None else None
        oauth = config.oauth
        self.tokens = TokenVerifier(oauth, oauth.audience or [oauth.resource]) if oauth is not None else None

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    async def start(self) -> None:
        """Load the API keys before the first request."""
        if self.keys is not None:
            await self.keys.load()

    async def watch(self, on_revoked: Callable[[set[str]], None]) -> None:
        """Keep the keys fresh until cancelled; `on_revoked` gets the ids of revoked keys."""
        if self.keys is not None:
            await self.keys.watch(on_revoked)

    async def identify(self, headers: Mapping[str, str]) -> Identity:
        """The caller, from the request's Authorization header; AuthRefused when there is no valid credential."""
        if not self.config.enabled:
            return LOCAL
        value = headers.get("authorization")
        if value is None or not value.strip():
            raise AuthRefused("no_credentials", presented=False)
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthRefused("invalid_token")
        if self.keys is not None and token.startswith(API_KEY_PREFIX):
            key = self.keys.find(token)
            if key is None:
                raise AuthRefused("invalid_token")
            return Identity(key.name, key.role, key.profile, key.key_id)
        if self.tokens is None:
            raise AuthRefused("invalid_token")
        try:
            claims = await self.tokens.verify(token)
        except TokenRejected as exc:
            raise AuthRefused(exc.reason) from None
        return self._token_identity(claims)

    def _token_identity(self, claims: dict[str, Any]) -> Identity:
        oauth = self.config.oauth
        assert oauth is not None
        profile = claims.get(oauth.profile_claim) if oauth.profile_claim else None
        scopes = claims.get("scope")
        admin = oauth.admin_scope is not None and isinstance(scopes, str) and oauth.admin_scope in scopes.split()
        return Identity(claims["sub"], "admin" if admin else "client", profile if isinstance(profile, str) else None)

    def challenge(self, refusal: AuthRefused) -> Response:
        """The 401 for a refused request: the same body for every bad token, whatever was wrong with it."""
        params = []
        if self.config.oauth is not None:
            params.append(f'resource_metadata="{self.metadata_url()}"')
        if refusal.presented:
            params.append('error="invalid_token"')
        header = "Bearer " + ", ".join(params) if params else "Bearer"
        body = _INVALID if refusal.presented else _MISSING
        return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": header})

    def metadata_url(self) -> str:
        oauth = self.config.oauth
        assert oauth is not None
        parts = urlsplit(oauth.resource)
        return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}"

    def metadata(self) -> dict[str, Any] | None:
        """The protected-resource metadata (RFC 9728), or None outside OAuth mode."""
        oauth = self.config.oauth
        if oauth is None:
            return None
        return {
            "resource": oauth.resource,
            "authorization_servers": oauth.authorization_servers or [oauth.issuer],
            "bearer_methods_supported": ["header"],
        }
