"""Counts each call for /metrics: in flight, by server, tool and outcome, and its latency (refusals are counted
from the audit records, which every refusal leaves wherever it is made)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from switchyard.errors import GatewayError
from switchyard.observability import metrics
from switchyard.pipeline.base import Call, Handler


class CallMetrics:
    def __init__(self, known_tool: Callable[[str], bool]) -> None:
        self._known_tool = known_tool  # whether a public tool name is in the catalogue (bounds the tool label)
        # Labelled children, looked up once each: `labels()` takes a lock and builds a key on every call.
        self._calls: dict[tuple[str, str, str], Any] = {}
        self._latency: dict[str, Any] = {}

    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]:
        metrics.inflight.inc()
        started = time.perf_counter()
        outcome = "allow"
        try:
            return await call_next(call)
        except GatewayError as exc:
            outcome = exc.reason.decision
            raise
        except BaseException:
            outcome = "error"
            raise
        finally:
            metrics.inflight.dec()
            target = call.target
            server = target.server or metrics.NO_SERVER
            tool = metrics.tool_label(target.public_name if target.kind == "tool" else None, self._known_tool)
            key = (server, tool, outcome)
            calls = self._calls.get(key)
            if calls is None:
                calls = self._calls[key] = metrics.calls_total.labels(*key)
            calls.inc()
            latency = self._latency.get(server)
            if latency is None:
                latency = self._latency[server] = metrics.call_seconds.labels(server)
            latency.observe(time.perf_counter() - started)
