"""Argument-level rules: constraints on what a visible tool may be called with, compiled once; deny wins.

Rules are keyed by tool (public name, "server:tool" or a glob of either) and argument name. Every rule of every
layer (the top-level `policies` and the client's profile) that names a tool applies. An argument that is absent
is not checked (the backend's own default applies); a list is checked item by item. Paths and URLs are judged
in the form the backend will read them, so that an encoding trick cannot slip past the prefix or host check.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from switchyard.config import ArgumentRule, ArgumentRules, UrlRule
from switchyard.pipeline.allowlist import Rules, compile_globs, first_match

Check = Callable[[Any], str | None]  # a value -> why it is refused, None when it passes

_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


@dataclass(frozen=True, slots=True)
class Refusal:
    argument: str
    rule: str  # e.g. "profiles.basic.arguments.files__read_file.path.path_under"
    why: str  # e.g. "not under /srv/data"


@dataclass(frozen=True, slots=True)
class _ArgumentCheck:
    argument: str
    rule: str
    checks: tuple[tuple[str, Check], ...]  # (constraint name, check)

    def refusal(self, value: Any) -> Refusal | None:
        values = value if isinstance(value, list) else (value,)
        for constraint, check in self.checks:
            for item in values:
                if (why := check(item)) is not None:
                    return Refusal(self.argument, f"{self.rule}.{constraint}", why)
        return None


class ArgumentPolicy:
    """The argument rules of one profile; `refusal` is the first rule a call's arguments break, or None."""

    def __init__(self, layers: Sequence[tuple[str, ArgumentRules]]) -> None:
        self._rules: list[tuple[Rules, list[_ArgumentCheck]]] = [
            (
                compile_globs([tool]),
                [_compile(argument, f"{where}.arguments.{tool}.{argument}", rule) for argument, rule in rules.items()],
            )
            for where, layer in layers
            for tool, rules in layer.items()
        ]
        self._by_tool: dict[tuple[str, str, str], tuple[_ArgumentCheck, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self._rules)

    def refusal(self, server: str, tool: str, public_name: str, arguments: dict[str, Any]) -> Refusal | None:
        key = (server, tool, public_name)
        checks = self._by_tool.get(key)
        if checks is None:
            subjects = (public_name, f"{server}:{tool}")
            checks = self._by_tool[key] = tuple(
                check for globs, rules in self._rules if first_match(globs, *subjects) for check in rules
            )
        for check in checks:
            if check.argument in arguments and (refusal := check.refusal(arguments[check.argument])) is not None:
                return refusal
        return None


def _compile(argument: str, rule_id: str, rule: ArgumentRule) -> _ArgumentCheck:
    checks: list[tuple[str, Check]] = []
    if rule.enum is not None:
        checks.append(("enum", _enum(rule.enum)))
    if rule.max_length is not None:
        checks.append(("max_length", _max_length(rule.max_length)))
    if rule.pattern is not None:
        checks.append(("pattern", _pattern(rule.pattern)))
    if rule.path_under is not None:
        checks.append(("path_under", path_under(rule.path_under)))
    if rule.url is not None:
        checks.append(("url", url_within(rule.url)))
    return _ArgumentCheck(argument, rule_id, tuple(checks))


def _enum(allowed: list[Any]) -> Check:
    def check(value: Any) -> str | None:
        # 1 == True in Python; a JSON boolean and a number are different values.
        if any(value == a and type(value) is type(a) for a in allowed):
            return None
        return "not one of the allowed values"

    return check


def _max_length(limit: int) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        return f"longer than {limit} characters" if len(value) > limit else None

    return check


def _pattern(pattern: str) -> Check:
    regex = re.compile(pattern)

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        return None if regex.fullmatch(value) else "does not match the allowed pattern"

    return check


# -- paths


def path_under(roots: Sequence[str]) -> Check:
    """A check that a path, as a POSIX backend reads it, lies inside one of `roots` (on a segment boundary)."""
    normalised = tuple(dict.fromkeys(_normalise(root) for root in roots))
    shown = ", ".join(normalised)

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        path = _readable_path(value)
        if path is None:
            return f"not a plain absolute path (allowed under {shown})"
        if any(path == root or path.startswith(root if root == "/" else root + "/") for root in normalised):
            return None
        return f"not under {shown}"

    return check


def _readable_path(value: str) -> str | None:
    """The normalised path a backend would open, or None when it cannot be judged safely.

    One percent-decoding is undone (a backend or a URL layer may decode once); what still looks encoded after
    that, a backslash (a separator on Windows), a NUL or another control character, and a relative path are
    all refused rather than guessed at.
    """
    try:
        decoded = unquote(value, errors="strict") if "%" in value else value
    except UnicodeDecodeError:
        return None
    if _ESCAPE.search(decoded) or "\\" in decoded or _CONTROL.search(decoded) or not decoded.startswith("/"):
        return None
    return _normalise(decoded)


def _normalise(path: str) -> str:
    return posixpath.normpath("/" + path.lstrip("/"))  # normpath keeps a leading "//"; one slash is the root


# -- URLs


def url_within(rule: UrlRule) -> Check:
    """A check that a URL's scheme, host and port are allowed; anything ambiguous is refused."""
    schemes = frozenset(s.lower() for s in rule.schemes)
    hosts = [h.lower().rstrip(".") for h in rule.hosts]
    exact = frozenset(h for h in hosts if not h.startswith("*."))
    suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))  # "*.example.test" -> ".example.test"
    ports = frozenset(rule.ports)

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        if _CONTROL.search(value) or "\\" in value or " " in value:
            return "not a plain URL"
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            return "not a valid URL"
        scheme = parts.scheme.lower()
        if scheme not in schemes:
            return f"scheme {scheme or '(none)'} is not allowed"
        if "@" in parts.netloc:
            return "credentials in a URL are not allowed"
        host = _host(parts.hostname)
        if host is None:
            return "not a valid host"
        if hosts and host not in exact and not host.endswith(suffixes):
            return f"host {host} is not allowed"
        default = _DEFAULT_PORTS.get(scheme)
        effective = port if port is not None else default
        if effective not in (ports or {default}):
            return f"port {effective} is not allowed"
        return None

    return check


def _host(hostname: str | None) -> str | None:
    """The host in canonical form: a lower-case DNS name or a canonical IP address; None if neither."""
    if not hostname:
        return None
    host = hostname.lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host))  # IPv6 literals arrive without brackets
    except ValueError:
        pass
    # Only canonical names: no percent-escapes, no non-ASCII (IDNA look-alikes), and no all-numeric labels,
    # which resolvers read as IPv4 in decimal, octal or hex shorthand (2130706433, 0x7f.1, 017700000001).
    if not _HOST.fullmatch(host) or all(label.isdigit() or label.startswith("0x") for label in host.split(".")):
        return None
    return host
