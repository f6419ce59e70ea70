"""Secret redaction for logs, errors and audit values: configured secret values and well-known token formats."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from switchyard.config import Config

MASK = "***"
# Shorter values are not treated as secrets: masking "1" or "true" everywhere would wreck every log line.
MIN_SECRET_LENGTH = 6

# Formats of credentials seen in the wild; each match is masked (a group named `keep` survives).
KNOWN_TOKEN_PATTERNS: tuple[str, ...] = (
    r"sy_[0-9a-f]{8,}_[A-Za-z0-9_-]{16,}",  # Switchyard API keys
    r"(?P<keep>(?i:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}",
    r"eyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*",  # JWT
    r"gh[pousr]_[A-Za-z0-9]{30,}",
    r"github_pat_[A-Za-z0-9_]{30,}",
    r"sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}",
    r"(?:AKIA|ASIA)[0-9A-Z]{16}",
    r"xox[abprs]-[A-Za-z0-9-]{10,}",
    r"AIza[0-9A-Za-z_-]{35}",
    r"(?P<keep>://[^/\s:@]*:)[^/\s@]+(?=@)",  # a URL's password
    r"(?P<keep>(?i:api[_-]?key|access[_-]?token|refresh[_-]?token|token|secret|password|passwd|pwd)"
    r"[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;}]{4,}",
)
# Argument and header names whose values are secrets whatever they look like.
SECRET_NAME = re.compile(
    r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|apikey|auth(orization)?|cookie|credential|private[_-]?key)"
)

_SECRET_ENV_NAME = re.compile(r"(?i)(key|pat|pass|cred|auth|sig|session|cookie|dsn)")


class Redactor:
    """Masks configured secret values and known token formats in text and in JSON-like values."""

    def __init__(self, values: Iterable[str] = (), patterns: Iterable[str] = KNOWN_TOKEN_PATTERNS) -> None:
        self._patterns = list(patterns)
        self._values: set[str] = set()
        self._compiled: re.Pattern[str] = self._compile()
        self.add_values(values)

    def add_values(self, values: Iterable[str]) -> None:
        """Also mask these exact values (and their URL-decoded forms); short values are ignored."""
        fresh = {v for value in values for v in (value, unquote(value)) if len(v) >= MIN_SECRET_LENGTH}
        if fresh - self._values:
            self._values |= fresh
            self._compiled = self._compile()

    def add_patterns(self, patterns: Iterable[str]) -> None:
        self._patterns.extend(patterns)
        self._compiled = self._compile()

    def _compile(self) -> re.Pattern[str]:
        # Longest values first, so that a secret containing another is masked whole.
        literals = [re.escape(v) for v in sorted(self._values, key=len, reverse=True)]
        # Each pattern's `keep` group gets a name of its own, so that they can share one alternation.
        patterns = [p.replace("(?P<keep>", f"(?P<keep{i}>") for i, p in enumerate(self._patterns)]
        alternatives = [f"(?:{p})" for p in (*literals, *patterns)]
        return re.compile("|".join(alternatives) or r"(?!)")

    def redact(self, text: str) -> str:
        return self._compiled.sub(_mask, text)

    def redact_value(self, value: Any) -> Any:
        """A copy of a JSON-like value with secrets masked: in strings, and under secret-looking keys."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {
                k: MASK if isinstance(k, str) and SECRET_NAME.search(k) else self.redact_value(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.redact_value(item) for item in value]
        return value


def _mask(match: re.Match[str]) -> str:
    keep = next((value for value in match.groupdict().values() if value), "")
    return f"{keep}{MASK}"


def config_secrets(config: Config) -> set[str]:
    """The secret values a config holds: backends' secret-looking env values, header values, URL passwords and
    query values. An env value counts when its name says secret (TOKEN, KEY, PASSWORD, ...) or it looks random;
    plain settings (MODE=production, a PATH) are not masked in every log line."""
    found: set[str] = set()
    for server in config.servers.values():
        found.update(value for name, value in server.env.items() if _secret_env(name, value))
        for value in server.headers.values():
            found.add(value)
            scheme, _, credential = value.partition(" ")
            if credential and scheme.lower() in ("bearer", "basic", "token"):
                found.add(credential)
        if server.url:
            found.update(_url_secrets(server.url))
    if config.gateway.registry:
        found.update(_url_secrets(config.gateway.registry))
    return found


def _secret_env(name: str, value: str) -> bool:
    if SECRET_NAME.search(name) or _SECRET_ENV_NAME.search(name):
        return True
    return (
        len(value) >= 16
        and any(ch.isdigit() for ch in value)
        and any(ch.isalpha() for ch in value)
        and ("/" not in value and " " not in value)
    )


def _url_secrets(url: str) -> set[str]:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return set()
    found = {password} if password else set()
    found.update(value for item in parts.query.split("&") if (value := item.partition("=")[2]))
    return found
