"""Per-principal and per-session limits on routed calls: a token-bucket rate, in-flight caps and a deadline.

The rate is per principal (an API key, a token's subject), so opening more sessions does not reset it. A call
reached through the call meta-tool is not counted again: the client's own call to the meta-tool was. Each
refusal says which limit it hit and, when waiting helps, after how long to retry (`data.retry_after_ms`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from switchyard.config import LimitsConfig, ProfileLimits
from switchyard.errors import GatewayError, Reason
from switchyard.pipeline.base import Call, Client, Handler

INFLIGHT_RETRY_MS = 100  # a hint: in-flight calls usually finish within a fraction of a second


@dataclass(frozen=True, slots=True)
class LimitSettings:
    rate: float  # calls per second; 0: unlimited
    burst: int
    max_inflight: int  # per principal; 0: unlimited
    max_inflight_per_session: int  # 0: unlimited
    call_timeout_s: float | None

    @classmethod
    def of(cls, limits: LimitsConfig, override: ProfileLimits | None = None) -> LimitSettings:
        def pick(field: str) -> Any:
            value = getattr(override, field) if override is not None else None
            return getattr(limits, field) if value is None else value

        rate = float(pick("rate"))
        burst = pick("burst") or max(1, math.ceil(2 * rate))
        return cls(rate, burst, pick("max_inflight"), pick("max_inflight_per_session"), pick("call_timeout_s"))


class TokenBucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, burst: int, now: float) -> None:
        self.tokens = float(burst)
        self.updated = now

    def take(self, rate: float, burst: int, now: float) -> float:
        """Take one token: 0.0 if there was one, else the seconds until there will be."""
        self.tokens = min(float(burst), self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate


class Limits:
    def __init__(self, settings_of: Callable[[Client], LimitSettings]) -> None:
        self._settings_of = settings_of
        self._buckets: dict[str, TokenBucket] = {}
        self._inflight: dict[str, int] = {}  # principal -> calls in flight
        self._session_inflight: dict[Any, int] = {}  # session -> calls in flight

    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]:
        if call.via is not None:
            return await call_next(call)
        settings = self._settings_of(call.client)
        principal = call.client.principal
        if settings.rate > 0:
            self._take_token(principal, settings)
        session = call.requester.session if call.requester is not None else call.client.session_id
        if settings.max_inflight and self._inflight.get(principal, 0) >= settings.max_inflight:
            raise GatewayError(
                Reason.TOO_MANY_INFLIGHT,
                f"Too many calls in flight: at most {settings.max_inflight} at once for '{principal}'",
                retry_after_ms=INFLIGHT_RETRY_MS,
                limit=settings.max_inflight,
            )
        per_session = settings.max_inflight_per_session
        if per_session and session is not None and self._session_inflight.get(session, 0) >= per_session:
            raise GatewayError(
                Reason.TOO_MANY_INFLIGHT,
                f"Too many calls in flight: at most {per_session} at once per session",
                retry_after_ms=INFLIGHT_RETRY_MS,
                limit=per_session,
            )
        _increment(self._inflight, principal)
        if session is not None:
            _increment(self._session_inflight, session)
        try:
            if settings.call_timeout_s is None:
                return await call_next(call)
            return await _with_deadline(call, call_next, settings.call_timeout_s)
        finally:
            _decrement(self._inflight, principal)
            if session is not None:
                _decrement(self._session_inflight, session)

    def _take_token(self, principal: str, settings: LimitSettings) -> None:
        now = time.monotonic()
        bucket = self._buckets.get(principal)
        if bucket is None:
            bucket = self._buckets[principal] = TokenBucket(settings.burst, now)
        wait = bucket.take(settings.rate, settings.burst, now)
        if wait:
            retry_after_ms = max(1, math.ceil(wait * 1000))
            raise GatewayError(
                Reason.RATE_LIMITED,
                f"Rate limit exceeded: {settings.rate:g} calls per second (burst {settings.burst}) for "
                f"'{principal}'; retry in {retry_after_ms} ms",
                retry_after_ms=retry_after_ms,
            )


async def _with_deadline(call: Call, call_next: Handler, seconds: float) -> dict[str, Any]:
    """Cancel the call (and so its upstream request, which tells the backend) when the deadline passes."""
    with anyio.move_on_after(seconds) as scope:
        return await call_next(call)
    assert scope.cancelled_caught
    raise GatewayError(
        Reason.BACKEND_TIMEOUT,
        f"{call.target.public_name} did not finish within {seconds:g} s",
        server=call.target.server,
    )


def _increment(counts: dict[Any, int], key: Any) -> None:
    counts[key] = counts.get(key, 0) + 1


def _decrement(counts: dict[Any, int], key: Any) -> None:
    remaining = counts[key] - 1
    if remaining:
        counts[key] = remaining
    else:
        del counts[key]
