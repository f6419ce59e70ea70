"""Records every routed call and every refusal, handing records to a batching writer (never awaited)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from switchyard.errors import BackendError, GatewayError, Reason
from switchyard.pipeline.base import Call, Handler
from switchyard.registry.records import AuditRecord

_DENIALS = {Reason.NOT_ALLOWED, Reason.UNKNOWN_TOOL, Reason.UNKNOWN_PROMPT, Reason.UNKNOWN_RESOURCE}


class Audit:
    def __init__(self, sink: Callable[[AuditRecord], None]) -> None:
        self._sink = sink

    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]:
        started = time.perf_counter()
        decision, reason = "allow", None
        try:
            result = await call_next(call)
            if result.get("isError") is True:
                reason = "tool_error"
            return result
        except GatewayError as exc:
            decision = "deny" if exc.reason in _DENIALS else "error"
            reason = exc.audit_reason
            raise
        except BackendError as exc:
            decision, reason = "error", f"backend_error ({exc.error.get('code')})"
            raise
        except BaseException:
            decision, reason = "error", "cancelled"
            raise
        finally:
            self._sink(
                AuditRecord(
                    ts=datetime.now(UTC),
                    request_id=None if call.request_id is None else str(call.request_id),
                    principal=call.client.principal,
                    transport=call.client.transport,
                    method=call.method,
                    server=call.target.server,
                    tool=call.target.public_name,
                    decision=decision,
                    reason=reason,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
            )
