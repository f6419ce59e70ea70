"""A circuit breaker per backend: after N consecutive failures, calls fail at once for a cool-down.

Closed: calls pass; a failure (crash, timeout, dropped connection, an internal error answered by the backend)
counts, a success resets the count. Open: calls fail at once with `circuit_open` and when to retry. After the
cool-down one call is let through as a probe (half-open): its success closes the breaker, its failure opens it
again for another cool-down. Calls the backend answered with its own error (bad arguments, say) are successes
of the backend: it is alive and answering.
"""

from __future__ import annotations

import enum
import math
import time
from typing import Any

from switchyard.errors import GatewayError, Reason
from switchyard.observability import metrics


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    def __init__(self, name: str, *, failures_to_open: int, cooldown: float) -> None:
        self.name = name
        self._threshold = failures_to_open  # 0: never opens
        self._cooldown = cooldown
        self.state = CircuitState.CLOSED
        self.failures = 0  # consecutive
        self.trips = 0  # times it opened
        self._opened_at = 0.0
        self._probing = False

    def admit(self) -> None:
        """Let a call through, or refuse it at once while the circuit is open (or a probe is out)."""
        if self.state == CircuitState.CLOSED:
            return
        remaining = self._opened_at + self._cooldown - time.monotonic()
        if self.state == CircuitState.OPEN and remaining <= 0:
            self.state = CircuitState.HALF_OPEN
        if self.state == CircuitState.HALF_OPEN and not self._probing:
            self._probing = True
            return
        retry_after_ms = max(1, math.ceil(remaining * 1000)) if remaining > 0 else 100
        raise GatewayError(
            Reason.CIRCUIT_OPEN,
            f"Backend '{self.name}' failed {self._threshold} times in a row; calls are refused for "
            f"{self._cooldown:g} s (retry in {retry_after_ms} ms)",
            server=self.name,
            retry_after_ms=retry_after_ms,
        )

    def succeeded(self) -> None:
        self.failures = 0
        self._probing = False
        self.state = CircuitState.CLOSED

    def failed(self) -> None:
        self.failures += 1
        was_probe, self._probing = self._probing, False
        if was_probe or (self._threshold and self.failures >= self._threshold and self.state == CircuitState.CLOSED):
            self.state = CircuitState.OPEN
            self._opened_at = time.monotonic()
            self.trips += 1
            metrics.circuit_trips_total.labels(self.name).inc()

    def released(self) -> None:
        """A call that proved nothing either way (the client cancelled it): a probe may be sent again."""
        self._probing = False

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"state": self.state.value, "failures": self.failures, "trips": self.trips}
        if self.state == CircuitState.OPEN:
            status["retryAfterMs"] = max(0, math.ceil((self._opened_at + self._cooldown - time.monotonic()) * 1000))
        return status
