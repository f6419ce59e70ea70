"""Server and tool allowlists/denylists, compiled once; deny wins, and every layer must allow.

The layers are the top-level `policies` and, for a client with a profile, that profile's `servers` and `tools`.
A refused tool is invisible: absent from lists, and refused on call exactly as an unknown tool is. Only the
audit log learns the precise reason and the rule.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from switchyard.config import AllowDeny, PoliciesConfig

SERVER_NOT_ALLOWED = "server_not_allowed"
TOOL_NOT_IN_PROFILE = "tool_not_in_profile"
TOOL_DENIED = "tool_denied"

Rules = list[tuple[str, re.Pattern[str]]]


def compile_globs(patterns: Sequence[str]) -> Rules:
    return [(p, re.compile(fnmatch.translate(p))) for p in patterns]


def first_match(rules: Rules, *subjects: str) -> str | None:
    for pattern, regex in rules:
        if any(regex.match(subject) for subject in subjects):
            return pattern
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str | None = None  # for the audit: server_not_allowed | tool_not_in_profile | tool_denied
    rule: str | None = None  # the rule that decided, e.g. "profiles.basic.tools.allow: no pattern matches"


ALLOWED = Verdict(True)


@dataclass(frozen=True, slots=True)
class _Layer:
    where: str  # "policies" or "profiles.<name>"
    server_allow: Rules
    server_deny: Rules
    tool_allow: Rules
    tool_deny: Rules

    @classmethod
    def of(cls, where: str, servers: AllowDeny, tools: AllowDeny) -> _Layer:
        return cls(
            where,
            compile_globs(servers.allow),
            compile_globs(servers.deny),
            compile_globs(tools.allow),
            compile_globs(tools.deny),
        )

    def server(self, server: str) -> Verdict:
        if rule := first_match(self.server_deny, server):
            return Verdict(False, SERVER_NOT_ALLOWED, f"{self.where}.servers.deny: {rule}")
        if self.server_allow and not first_match(self.server_allow, server):
            return Verdict(False, SERVER_NOT_ALLOWED, f"{self.where}.servers.allow: no pattern matches")
        return ALLOWED

    def tool(self, subjects: tuple[str, ...]) -> Verdict:
        if rule := first_match(self.tool_deny, *subjects):
            return Verdict(False, TOOL_DENIED, f"{self.where}.tools.deny: {rule}")
        if self.tool_allow and not first_match(self.tool_allow, *subjects):
            return Verdict(False, TOOL_NOT_IN_PROFILE, f"{self.where}.tools.allow: no pattern matches")
        return ALLOWED


class Allowlist:
    """What one profile may see: `check` is cached per (server, tool, public name)."""

    def __init__(
        self,
        policies: PoliciesConfig,
        profile: tuple[str, AllowDeny, AllowDeny] | None = None,
    ) -> None:
        self._layers = [_Layer.of("policies", policies.servers, policies.tools)]
        if profile is not None:
            name, servers, tools = profile
            self._layers.append(_Layer.of(f"profiles.{name}", servers, tools))
        self._cache: dict[tuple[str, str | None, str | None], Verdict] = {}

    @classmethod
    def nothing(cls, policies: PoliciesConfig, why: str) -> Allowlist:
        """An allowlist that refuses everything (a client whose profile is not configured)."""
        allowlist = cls(policies)
        allowlist._layers.append(_Layer(why, [], [("*", re.compile(".*", re.S))], [], []))
        return allowlist

    def check(self, server: str, tool: str | None = None, public_name: str | None = None) -> Verdict:
        key = (server, tool, public_name)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._cache[key] = self._evaluate(server, tool, public_name)
        return verdict

    def visible(self, server: str, tool: str | None = None, public_name: str | None = None) -> bool:
        return self.check(server, tool, public_name).allowed

    def _evaluate(self, server: str, tool: str | None, public_name: str | None) -> Verdict:
        for layer in self._layers:
            if not (verdict := layer.server(server)).allowed:
                return verdict
        if tool is None:
            return ALLOWED
        subjects = (f"{server}:{tool}", public_name or tool)
        for layer in self._layers:
            if not (verdict := layer.tool(subjects)).allowed:
                return verdict
        return ALLOWED
