"""The policy that refuses what a client's profile does not allow: hidden or unknown names, then arguments.

A tool the client may not see, an unknown tool and a tool of an unknown server get the very same answer
(`not_allowed`, "Unknown tool: NAME"); the audit keeps the precise reason (server_not_allowed,
tool_not_in_profile, tool_denied, unknown_tool, unknown_server) and the rule. A visible tool called with an
argument its rules refuse gets `argument_not_allowed`, naming the argument and the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from switchyard.errors import GatewayError, Reason
from switchyard.pipeline.base import Call, Client, Handler
from switchyard.pipeline.profiles import Profile

UNKNOWN_TOOL = "unknown_tool"
UNKNOWN_SERVER = "unknown_server"


class Access:
    def __init__(self, profile_of: Callable[[Client], Profile], namespaces: Mapping[str, str], separator: str) -> None:
        self._profile_of = profile_of
        self._namespaces = namespaces  # public-name prefix -> configured server
        self._separator = separator

    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]:
        target = call.target
        if target.kind == "task":  # routed by id to the session that started it
            return await call_next(call)
        profile = self._profile_of(call.client)
        if target.server is None:
            if target.kind == "tool":
                raise self._unknown_tool(profile, target.public_name)
            return await call_next(call)
        tool = target.original_name if target.kind == "tool" else None
        verdict = profile.allowlist.check(target.server, tool, target.public_name if tool else None)
        if not verdict.allowed:
            raise GatewayError.unknown(
                target.kind, target.public_name, audit_reason=verdict.reason, detail=verdict.rule
            )
        if tool is not None and call.method == "tools/call" and profile.arguments:
            arguments = call.params.get("arguments")
            if isinstance(arguments, dict):
                refusal = profile.arguments.refusal(target.server, tool, target.public_name, arguments)
                if refusal is not None:
                    raise GatewayError(
                        Reason.ARGUMENT_NOT_ALLOWED,
                        f'Argument "{refusal.argument}" of {target.public_name} is not allowed: {refusal.why} '
                        f"(rule {refusal.rule})",
                        detail=refusal.rule,
                        argument=refusal.argument,
                    )
        return await call_next(call)

    def _unknown_tool(self, profile: Profile, name: str) -> GatewayError:
        """No such tool: say (to the audit only) whether its server is unknown, hidden, or just lacks it."""
        prefix, separator, _ = name.partition(self._separator)
        if not separator:
            return GatewayError.unknown("tool", name, audit_reason=UNKNOWN_TOOL)
        server = self._namespaces.get(prefix)
        if server is None:
            return GatewayError.unknown("tool", name, audit_reason=UNKNOWN_SERVER)
        verdict = profile.allowlist.check(server)
        if not verdict.allowed:
            return GatewayError.unknown("tool", name, audit_reason=verdict.reason, detail=verdict.rule)
        return GatewayError.unknown("tool", name, audit_reason=UNKNOWN_TOOL)
