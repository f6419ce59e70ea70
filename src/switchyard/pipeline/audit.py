"""Records every routed call and every refusal, handing records to a batching writer (never awaited).

What a record keeps of a call's arguments is a policy: nothing, their names (the default: what was attempted,
without the content), or their values with secrets masked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from switchyard.errors import BackendError, GatewayError
from switchyard.observability.redaction import Redactor
from switchyard.pipeline.base import Call, Handler
from switchyard.registry.audit_values import new_record
from switchyard.registry.records import AuditRecord

ArgumentsPolicy = Literal["off", "names", "redacted"]


class Audit:
    def __init__(
        self,
        sink: Callable[[AuditRecord], None],
        *,
        arguments: ArgumentsPolicy = "names",
        redactor: Redactor | None = None,
    ) -> None:
        self._sink = sink
        self._arguments = arguments
        self._redactor = redactor or Redactor()

    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]:
        started = time.perf_counter()
        decision, reason, detail = "allow", "ok", None
        try:
            result = await call_next(call)
            if result.get("isError") is True:
                reason = "tool_error"
            elif call.redacted:
                reason, detail = "redacted", ",".join(call.redacted)
            return result
        except GatewayError as exc:
            decision, reason, detail = exc.reason.decision, exc.audit_reason, exc.detail
            raise
        except BackendError as exc:
            decision, reason = "error", f"backend_error ({exc.error.get('code')})"
            raise
        except BaseException:
            decision, reason = "error", "cancelled"
            raise
        finally:
            client, requester = call.client, call.requester
            self._sink(
                new_record(
                    ts=datetime.now(UTC),
                    request_id=call.request_id,
                    principal=client.principal,
                    transport=client.transport,
                    method=call.method,
                    server=call.target.server,
                    tool=call.target.public_name,
                    decision=decision,
                    reason=reason,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                    session_id=client.session_id,
                    protocol_version=None if requester is None else requester.protocol_version,
                    remote=client.remote,
                    via=call.via,
                    arguments=self._recorded_arguments(call.params.get("arguments")),
                    detail=detail,
                )
            )

    def _recorded_arguments(self, arguments: Any) -> Any:
        if self._arguments == "off" or not isinstance(arguments, Mapping):
            return None
        if self._arguments == "names":
            return sorted(str(name) for name in arguments)
        return self._redactor.redact_value(arguments)
