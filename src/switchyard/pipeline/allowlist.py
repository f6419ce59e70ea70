"""Server and tool allowlists/denylists from the config, compiled once; deny wins.

A denied tool is invisible: absent from lists, and refused on call exactly as an unknown tool is. Only the
audit log learns which rule refused it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from switchyard.config import PoliciesConfig
from switchyard.errors import GatewayError
from switchyard.pipeline.base import Call, Handler


def _compile(patterns: Sequence[str]) -> list[tuple[str, re.Pattern[str]]]:
    return [(p, re.compile(fnmatch.translate(p))) for p in patterns]


def _first_match(rules: list[tuple[str, re.Pattern[str]]], *subjects: str) -> str | None:
    for pattern, regex in rules:
        if any(regex.match(subject) for subject in subjects):
            return pattern
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    rule: str | None = None


class Allowlist:
    def __init__(self, policies: PoliciesConfig) -> None:
        self._server_allow = _compile(policies.servers.allow)
        self._server_deny = _compile(policies.servers.deny)
        self._tool_allow = _compile(policies.tools.allow)
        self._tool_deny = _compile(policies.tools.deny)
        self._cache: dict[tuple[str, str | None, str | None], Verdict] = {}

    def check(self, server: str, tool: str | None = None, public_name: str | None = None) -> Verdict:
        key = (server, tool, public_name)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._cache[key] = self._evaluate(server, tool, public_name)
        return verdict

    def visible(self, server: str, tool: str | None = None, public_name: str | None = None) -> bool:
        return self.check(server, tool, public_name).allowed

    def _evaluate(self, server: str, tool: str | None, public_name: str | None) -> Verdict:
        if rule := _first_match(self._server_deny, server):
            return Verdict(False, f"policies.servers.deny: {rule}")
        if self._server_allow and not _first_match(self._server_allow, server):
            return Verdict(False, "policies.servers.allow: no pattern matches")
        if tool is None:
            return Verdict(True)
        subjects = (f"{server}:{tool}", public_name or tool)
        if rule := _first_match(self._tool_deny, *subjects):
            return Verdict(False, f"policies.tools.deny: {rule}")
        if self._tool_allow and not _first_match(self._tool_allow, *subjects):
            return Verdict(False, "policies.tools.allow: no pattern matches")
        return Verdict(True)

    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]:
        target = call.target
        if target.server is not None:
            tool = target.original_name if target.kind == "tool" else None
            verdict = self.check(target.server, tool, target.public_name if tool else None)
            if not verdict.allowed:
                raise GatewayError.unknown(
                    target.kind, target.public_name, audit_reason=f"not_allowed ({verdict.rule})"
                )
        return await call_next(call)
