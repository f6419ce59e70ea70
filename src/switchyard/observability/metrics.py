"""Prometheus metrics: counters and histograms the gateway's parts update, and gauges read from it at scrape time.

Every label is bounded: servers come from the config, tools from the catalogue (anything else is "other"),
outcomes and reasons from fixed sets. No label or value ever carries a secret, an argument or a client string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from switchyard.registry.records import AuditRecord

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER_TOOL = "other"
NO_SERVER = "none"
BACKEND_STATES = ("starting", "up", "down", "stopped")
REFUSALS = frozenset({"deny", "reject"})
_REASON_LABEL = re.compile(r"[a-z][a-z0-9_]{0,47}")  # the gateway's own reason names; anything else is "other"

# The process's metrics. Several gateways in one process (tests) share them: counters only ever grow.
REGISTRY = CollectorRegistry(auto_describe=True)

calls_total = Counter(
    "switchyard_calls_total",
    "Calls routed through the pipeline, by server, tool and outcome (allow, deny, reject, error).",
    ["server", "tool", "outcome"],
    registry=REGISTRY,
)
call_seconds = Histogram(
    "switchyard_call_seconds",
    "Time from a call entering the pipeline to its answer, by server.",
    ["server"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
inflight = Gauge("switchyard_inflight_calls", "Calls in the pipeline now.", registry=REGISTRY)
refusals_total = Counter(
    "switchyard_refusals_total",
    "Requests refused (denied by policy or rejected before it), by the audit's precise reason.",
    ["reason"],
    registry=REGISTRY,
)
circuit_trips_total = Counter(
    "switchyard_circuit_trips_total",
    "Times a backend's circuit breaker opened, by server.",
    ["server"],
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class GatewayState:
    """What the scrape reads from a running gateway (callables, so that nothing is counted twice)."""

    sessions: Callable[[], int]
    backend_states: Callable[[], Mapping[str, str]]  # server -> state
    pins_pending: Callable[[], int]


class _GatewayCollector(Collector):
    def __init__(self, state: GatewayState) -> None:
        self._state = state

    def collect(self) -> Iterable[Metric]:
        yield _gauge("switchyard_sessions", "Client sessions open now.", self._state.sessions())
        states = GaugeMetricFamily(
            "switchyard_backend_state",
            "1 for each backend's current state, 0 for the others.",
            labels=["server", "state"],
        )
        for server, current in sorted(self._state.backend_states().items()):
            for state in BACKEND_STATES:
                states.add_metric([server, state], 1.0 if current == state else 0.0)
        yield states
        yield _gauge(
            "switchyard_pins_pending", "Tool definitions held back, waiting for approval.", self._state.pins_pending()
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def render(state: GatewayState) -> bytes:
    """The exposition text: the process's counters, then the gateway's gauges."""
    per_gateway = CollectorRegistry(auto_describe=False)
    per_gateway.register(_GatewayCollector(state))
    return generate_latest(REGISTRY) + generate_latest(per_gateway)


def count_refusal(record: AuditRecord) -> None:
    """Count a refusal from its audit record: every refusal, wherever made (front, pipeline, admin), is audited."""
    if record.decision in REFUSALS:
        reason = record.reason or ""
        refusals_total.labels(reason if _REASON_LABEL.fullmatch(reason) else OTHER_TOOL).inc()


def tool_label(tool: str | None, known: Callable[[str], bool]) -> str:
    """The tool label of a call: its public name when the catalogue has it, "other" otherwise."""
    return tool if tool is not None and known(tool) else OTHER_TOOL
