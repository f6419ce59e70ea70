"""The circuit breaker's states: closed, open after N consecutive failures, one half-open probe, closed again."""

from __future__ import annotations

import time

import pytest

from switchyard.errors import GatewayError
from switchyard.observability import metrics
from switchyard.upstream.breaker import Breaker, CircuitState


def test_opens_after_consecutive_failures_and_refuses_at_once() -> None:
    breaker = Breaker("evil", failures_to_open=3, cooldown=30)
    for _ in range(2):
        breaker.admit()
        breaker.failed()
    breaker.admit()
    breaker.succeeded()  # a success resets the count
    for _ in range(3):
        breaker.admit()
        breaker.failed()
    assert breaker.state == CircuitState.OPEN and breaker.trips == 1
    started = time.perf_counter()
    with pytest.raises(GatewayError) as refused:
        breaker.admit()
    assert time.perf_counter() - started < 0.01
    error = refused.value.to_jsonrpc(7)
    assert error["data"]["reason"] == "circuit_open"
    assert error["data"]["server"] == "evil" and error["data"]["request_id"] == 7
    assert 29_000 < error["data"]["retry_after_ms"] <= 30_000
    assert breaker.status()["state"] == "open"


def test_one_probe_after_the_cool_down_closes_or_reopens_it() -> None:
    breaker = Breaker("evil", failures_to_open=1, cooldown=0.05)
    breaker.admit()
    breaker.failed()
    time.sleep(0.06)
    breaker.admit()  # the probe
    assert breaker.state == CircuitState.HALF_OPEN
    with pytest.raises(GatewayError):
        breaker.admit()  # only one probe at a time
    breaker.failed()
    assert breaker.state == CircuitState.OPEN and breaker.trips == 2
    with pytest.raises(GatewayError):
        breaker.admit()
    time.sleep(0.06)
    breaker.admit()
    breaker.succeeded()
    assert breaker.state == CircuitState.CLOSED and breaker.failures == 0
    breaker.admit()


def test_a_cancelled_probe_lets_another_through_and_zero_never_opens() -> None:
    breaker = Breaker("evil", failures_to_open=1, cooldown=0.01)
    breaker.admit()
    breaker.failed()
    time.sleep(0.02)
    breaker.admit()
    breaker.released()
    breaker.admit()  # a new probe
    never = Breaker("calm", failures_to_open=0, cooldown=1)
    for _ in range(100):
        never.admit()
        never.failed()
    assert never.state == CircuitState.CLOSED


def _trips(server: str) -> float:
    return metrics.REGISTRY.get_sample_value("switchyard_circuit_trips_total", {"server": server}) or 0.0


def test_each_trip_is_counted_for_metrics() -> None:
    before = _trips("counted")
    breaker = Breaker("counted", failures_to_open=1, cooldown=30)
    breaker.admit()
    breaker.failed()
    assert _trips("counted") == before + 1
