"""Output redaction: secrets in what backends send back are replaced with `[REDACTED:<kind>]`.

Results (text, structuredContent, resource contents: every string in them) and error messages are searched in
one pass of one compiled pattern for well-known credential formats and for the gateway's own secrets (the
values of backends' secret-named `env` variables and of their `headers`), also in their URL-encoded, base64 and
hex forms. A structuredContent that no longer matches the tool's outputSchema once redacted is blocked
(`output_policy`) rather than sent broken. Nothing is copied unless something was replaced.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import orjson

from switchyard.config import Config, RedactionConfig
from switchyard.errors import BackendError, GatewayError, Reason
from switchyard.pipeline.base import Call, Handler, Target
from switchyard.protocol.schemas import schema_validator

MIN_SECRET_LENGTH = 8  # shorter configured values are too likely to occur innocently
CONFIGURED = "configured_secret"
CUSTOM = "custom"

# kind -> pattern; a group named `keep` (the label before a value) survives redaction.
PATTERNS: dict[str, str] = {
    "private_key": r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
    "aws_access_key_id": r"\b(?:AKIA|ASIA)[0-9A-Z]{12,20}\b",
    "aws_secret_access_key": r"(?P<keep>(?i:aws_secret_access_key|aws_secret_key)[\"']?\s*[=:]\s*[\"']?)"
    r"[A-Za-z0-9/+=_-]{8,}",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
    "bearer_token": r"(?P<keep>\b(?i:bearer)\s+)[A-Za-z0-9._~+/=-]{8,}",
}
# Substrings without which a kind's pattern cannot match (both common casings of the case-insensitive ones).
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "private_key": ("PRIVATE KEY-----",),
    "aws_access_key_id": ("AKIA", "ASIA"),
    "aws_secret_access_key": ("aws_secret", "AWS_SECRET", "Aws_Secret"),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "bearer_token": ("Bearer", "bearer", "BEARER"),
}
# env variables whose values are secrets (the rest, such as a root directory, are not redacted everywhere)
_SECRET_NAME = re.compile(r"(?i)key|token|secret|pass|pwd|credential|auth|cookie|session|private")
_PLAIN_HEADERS = frozenset({"accept", "content-type", "user-agent", "accept-language", "cache-control"})


def configured_secrets(config: Config) -> set[str]:
    """The gateway's own secret values: backends' header values and secret-named env values."""
    found: set[str] = set()
    for server in config.servers.values():
        found.update(value for name, value in server.env.items() if _SECRET_NAME.search(name))
        for name, value in server.headers.items():
            if name.lower() not in _PLAIN_HEADERS:
                found.add(value)
                found.add(value.partition(" ")[2])  # the credential of "Bearer <token>"
    return {value for value in found if len(value) >= MIN_SECRET_LENGTH}


def _encodings(value: str) -> Iterable[str]:
    raw = value.encode()
    yield value
    yield quote(value, safe="")
    yield base64.b64encode(raw).decode().rstrip("=")
    yield base64.urlsafe_b64encode(raw).decode().rstrip("=")
    yield raw.hex()


class Redactor:
    """Finds secrets in text. Plain substring searches (fast, in C) say which kinds can occur at all; only those
    kinds' patterns are then run, so text with nothing secret-like costs a handful of substring searches."""

    def __init__(self, settings: RedactionConfig, secrets: Iterable[str] = ()) -> None:
        self._literals = sorted({form for value in secrets for form in _encodings(value)}, key=len, reverse=True)
        self._custom = [f"(?P<{CUSTOM}_{i}>{pattern})" for i, pattern in enumerate(settings.patterns)]
        self._patterns: dict[frozenset[str], re.Pattern[str]] = {}
        # What must occur in a JSON document for anything in it to be redacted (literals as JSON escapes them).
        needles = [t.encode() for triggers in _TRIGGERS.values() for t in triggers]
        needles += [orjson.dumps(literal)[1:-1] for literal in self._literals]
        self._needles = re.compile(b"|".join(map(re.escape, needles)))

    def may_match(self, document: bytes) -> bool:
        """Whether anything in this JSON document could be a secret (one quick scan of the whole of it)."""
        return bool(self._custom) or self._needles.search(document) is not None

    def text(self, value: str) -> tuple[str, set[str]]:
        """The text with secrets replaced, and the kinds found."""
        candidates = frozenset(
            [kind for kind, triggers in _TRIGGERS.items() if any(t in value for t in triggers)]
            + ([CONFIGURED] if any(literal in value for literal in self._literals) else [])
        )
        if not candidates and not self._custom:
            return value, set()
        pattern = self._patterns.get(candidates)
        if pattern is None:
            pattern = self._patterns[candidates] = self._compile(candidates)
        kinds: set[str] = set()

        def replace(match: re.Match[str]) -> str:
            groups = match.groupdict()
            kind = next(k for k, v in groups.items() if v is not None and not k.startswith("keep"))
            kind = CUSTOM if kind.startswith(CUSTOM) else kind
            kinds.add(kind)
            keep = next((v for k, v in groups.items() if k.startswith("keep") and v is not None), "")
            return f"{keep}[REDACTED:{kind}]"

        return pattern.sub(replace, value), kinds

    def _compile(self, kinds: frozenset[str]) -> re.Pattern[str]:
        alternatives = [f"(?P<{kind}>{pattern})" for kind, pattern in PATTERNS.items() if kind in kinds]
        if CONFIGURED in kinds:  # first: a configured secret is named as such even if it looks like a token
            alternatives.insert(0, f"(?P<{CONFIGURED}>{'|'.join(map(re.escape, self._literals))})")
        alternatives += self._custom
        # The same group name may appear once only: number the `keep` groups apart.
        counter = iter(range(len(alternatives)))
        return re.compile(
            "|".join(re.sub(r"\(\?P<keep>", lambda _: f"(?P<keep{next(counter)}>", a) for a in alternatives)
        )

    def value(self, value: Any, kinds: set[str]) -> Any:
        """A JSON-like value with every string redacted; the same object when nothing changed."""
        if isinstance(value, str):
            redacted, found = self.text(value)
            kinds |= found
            return redacted
        if isinstance(value, dict):
            changed = {k: v2 for k, v in value.items() if (v2 := self.value(v, kinds)) is not v}
            return {**value, **changed} if changed else value
        if isinstance(value, list):
            items = [self.value(item, kinds) for item in value]
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
        return value


class Redaction:
    """The policy: redacts results and errors of every routed call (the call records what it found)."""

    def __init__(self, redactor: Redactor, output_schema: Callable[[Target], Any]) -> None:
        self._redactor = redactor
        self._output_schema = output_schema  # the outputSchema of the tool a call is for, if any

    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]:
        kinds: set[str] = set()
        redactor = self._redactor
        try:
            result = await call_next(call)
        except GatewayError as exc:
            exc.message, found = self._redactor.text(exc.message)
            exc.args = (exc.message,)
            call.redacted = tuple(sorted(found)) or call.redacted
            raise
        except BackendError as exc:
            error = self._redactor.value(exc.error, kinds)
            if kinds:
                exc.error = error
                call.redacted = tuple(sorted(kinds))
            raise
        if not redactor.may_match(orjson.dumps(result)):
            return result
        redacted = redactor.value(result, kinds)
        if not kinds:
            return result
        call.redacted = tuple(sorted(kinds))
        structured = redacted.get("structuredContent")
        if structured is not result.get("structuredContent") and not _still_valid(
            structured, self._output_schema(call.target)
        ):
            raise GatewayError(
                Reason.OUTPUT_POLICY,
                f"The result of {call.target.public_name} held secrets, and without them its structuredContent "
                "no longer matches the tool's outputSchema",
                server=call.target.server,
            )
        return redacted


def _still_valid(structured: Any, schema: Any) -> bool:
    if not isinstance(schema, dict):
        return True
    validator = schema_validator(schema)
    return validator is None or validator.is_valid(structured)
