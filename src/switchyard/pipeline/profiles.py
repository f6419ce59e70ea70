"""Profiles: what one kind of client sees and may do, compiled once from the config.

A client's profile comes with its identity (`Client.profile`, from its API key or token). No profile means the
default one: the top-level `policies`, `search.mode` and `limits`. A named profile narrows the top-level
policies with its own server, tool and argument rules, and may change the mode and the limits. A profile
name that is not configured sees and may call nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.config import Config, ProfileConfig, SearchMode
from switchyard.pipeline.allowlist import Allowlist
from switchyard.pipeline.arguments import ArgumentPolicy
from switchyard.pipeline.limits import LimitSettings


@dataclass(frozen=True, slots=True)
class Profile:
    name: str | None  # None: the default profile
    allowlist: Allowlist
    arguments: ArgumentPolicy
    mode: SearchMode
    limits: LimitSettings


class Profiles:
    def __init__(self, config: Config) -> None:
        self._config = config
        policies = config.policies
        self.default = Profile(
            None,
            Allowlist(policies),
            ArgumentPolicy([("policies", policies.arguments)]),
            config.search.mode,
            LimitSettings.of(config.limits),
        )
        self._named = {name: self._compile(name, profile) for name, profile in config.profiles.items()}
        self._nothing = Profile(
            None,
            Allowlist.nothing(policies, "profiles (the client's profile is not configured)"),
            ArgumentPolicy([]),
            config.search.mode,
            self.default.limits,
        )

    def _compile(self, name: str, profile: ProfileConfig) -> Profile:
        config = self._config
        return Profile(
            name,
            Allowlist(config.policies, (name, profile.servers, profile.tools)),
            ArgumentPolicy([("policies", config.policies.arguments), (f"profiles.{name}", profile.arguments)]),
            profile.mode or config.search.mode,
            LimitSettings.of(config.limits, profile.limits),
        )

    def of(self, name: str | None) -> Profile:
        if name is None:
            return self.default
        return self._named.get(name, self._nothing)
