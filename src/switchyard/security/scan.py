"""The poisoning scan: rules with stable ids over every text of a tool or server that a model or a person reads.

Phrases live in data tables (one regular expression per entry, by language); each rule compiles its table into
one alternation and matches it once over a field. Scanning is bounded: each field is cut at `SCAN_LIMIT`
characters (a longer one is flagged `oversized` anyway), schemas are walked to a fixed depth and string count, and
every pattern avoids nested unbounded repeats, so a 1 MiB description costs milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from switchyard.security.printable import escape

OVERSIZED_BYTES = 16 * 1024  # a description, title or instructions longer than this is flagged
SCAN_LIMIT = OVERSIZED_BYTES  # characters of one field that are scanned (a longer one is flagged anyway)
TOOL_SCAN_BUDGET = 16 * 1024  # characters scanned over all of one tool's fields (what is left over is flagged)
PADDING_RUN = 120  # blank characters in a row, followed by more text, that count as padding
_EXCERPT = 40  # characters shown either side of a finding
_MAX_STRINGS = 2000  # strings taken from one tool's schemas and annotations
_MAX_DEPTH = 24

# Rule id -> what it catches. Ids are stable: audit records, the admin API and configs refer to them.
RULES: dict[str, str] = {
    "hidden_instructions": "orders aimed at the model: <IMPORTANT> tags, 'ignore previous instructions', "
    "'do not tell the user', 'before using this tool read ...'",
    "sensitive_paths": "paths to secrets: SSH keys, .env files, MCP client configs, cloud credentials, /etc/passwd",
    "exfiltration": "telling the model to pass content out: as a parameter, to a URL, with curl or a webhook",
    "cross_tool_reference": "naming another server's tool, or telling the model to use or avoid another tool",
    "ansi_escape": "terminal escape and control characters (ESC, CSI, OSC, C1, other C0 controls)",
    "invisible_unicode": "invisible characters: Unicode tag characters (outside emoji flags), zero-width and "
    "other format characters, a BOM inside the text, blank look-alikes, variation-selector runs",
    "bidi_control": "bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069)",
    "hidden_in_comment": "text inside an HTML comment (<!-- -->), which renderers hide from people",
    "padding": f"more text after a run of {PADDING_RUN} or more blank characters",
    "oversized": f"a description, title or instructions over {OVERSIZED_BYTES // 1024} KiB",
    "invalid_name": "a tool name outside [A-Za-z0-9_.-], or longer than 128 characters",
}

# (language, pattern): orders a tool description has no business giving the model.
HIDDEN_INSTRUCTION_PHRASES: tuple[tuple[str, str], ...] = (
    ("tag", r"<\s*/?\s*(?:important|system|instructions?|hidden|critical|assistant)\b[^<>]{0,40}>"),
    (
        "en",
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,30}?\b(?:previous|prior|above|earlier|preceding"
        r"|all|any|other|system|your)\b[^.\n]{0,20}?\b(?:instructions?|prompts?|rules|directions|guidelines|policies)",
    ),
    (
        "en",
        r"\b(?:do\s+not|don'?t|never|without)\s+(?:tell|mention|inform|notify|reveal|alert|show|let|warn|say)"
        r"\w*\b[^.\n]{0,40}?\b(?:user|human|operator|person)s?\b",
    ),
    (
        "en",
        r"\bbefore\s+(?:using|calling|invoking|running|executing)\s+(?:this|the|any)\b[^.\n]{0,40}?"
        r"\b(?:read|open|cat|load|fetch|include|pass|send|access|look\s+up)\b",
    ),
    (
        "en",
        r"\b(?:you|the\s+(?:assistant|model|ai))\s+(?:must|should|have\s+to|need\s+to)\s+(?:first\s+|always\s+)?"
        r"(?:read|open|send|include|pass|upload|exfiltrate)\b[^.\n]{0,40}?\b(?:file|key|secret|token|password|config)",
    ),
    ("en", r"\b(?:new|updated|real|actual)\s+(?:system\s+)?instructions?\s*:"),
    ("en", r"\bsystem\s+prompt\b"),
    ("es", r"\bignora\w*\b[^.\n]{0,30}?\binstrucciones\s+(?:anteriores|previas)"),
    ("es", r"\bno\s+(?:le\s+)?(?:digas|menciones|informes|cuentes|avises)\b[^.\n]{0,30}?\busuario"),
    ("fr", r"\bignore[rz]?\b[^.\n]{0,30}?\binstructions\s+(?:pr[ée]c[ée]dentes|ant[ée]rieures)"),
    (
        "fr",
        r"\bne\s+(?:le\s+|lui\s+)?(?:dis|dites|mentionne[sz]?|r[ée]v[èe]le[sz]?)\s+(?:rien\s+|pas\s+)"
        r"[^.\n]{0,30}?\butilisat(?:eur|rice)",
    ),
    ("de", r"\bignorier\w*\b[^.\n]{0,30}?\b(?:vorherigen|bisherigen|obigen|vorigen)\s+(?:anweisungen|instruktionen)"),
    (
        "de",
        r"\b(?:sag|sage|sagen|erw[äa]hne|erw[äa]hnen|verrate)\w*\b[^.\n]{0,30}?\b(?:benutzer|nutzer|anwender)"
        r"\w*\b[^.\n]{0,15}?\bnicht\b",
    ),
    ("de", r"\b(?:benutzer|nutzer|anwender)\w*\s+nicht\s+(?:sagen|erw[äa]hnen|informieren|mitteilen)"),
    ("it", r"\bignora\w*\b[^.\n]{0,30}?\bistruzioni\s+precedenti"),
    ("it", r"\bnon\s+(?:dire|dirlo|menzionare|informare|rivelare)\b[^.\n]{0,30}?\butente"),
    ("pt", r"\bignor[ea]\w*\b[^.\n]{0,30}?\binstru[çc][õo]es\s+anteriores"),
    ("pt", r"\bn[ãa]o\s+(?:diga|mencione|conte|informe|revele)\b[^.\n]{0,30}?\busu[áa]rio"),
    ("ru", r"игнорир\w*[^.\n]{0,30}?(?:предыдущ|прежн)\w*\s+(?:инструкц|указан)"),
    ("ru", r"не\s+(?:говори|сообщай|рассказывай|упоминай)\w*[^.\n]{0,30}?пользовател"),
    ("zh", r"(?:忽略|无视|忽视)[^。\n]{0,10}?(?:之前|以上|先前|前面|所有)[^。\n]{0,6}?(?:指令|指示|说明|规则)"),
    ("zh", r"(?:不要|别|切勿)(?:告诉|通知|提醒|透露给)用户"),
    ("ja", r"(?:以前|前|上記)の(?:指示|命令|指令)を無視"),
    ("ja", r"ユーザー(?:に|には)(?:言わ|伝え|知らせ|教え)ない"),
    ("ko", r"(?:이전|위의?)\s*(?:지시|명령|지침)[^.\n]{0,10}?무시"),
    ("ko", r"사용자에게\s*(?:말하지|알리지)\s*(?:마|말)"),
)

# Paths and names of files that hold secrets.
SENSITIVE_PATH_PATTERNS: tuple[str, ...] = (
    r"~?/?\.ssh\b",
    r"\bid_(?:rsa|dsa|ecdsa|ed25519)\b",
    r"(?:^|[\s/\\\"'`(~])\.env(?:\.[a-z]+)?\b",
    r"\bmcp\.json\b",
    r"\bclaude_desktop_config\.json\b",
    r"\.cursor/",
    r"\.aws/(?:credentials|config)\b",
    r"\bcredentials\.json\b",
    r"/\.?credentials\b",
    r"\.git-credentials\b",
    r"\.(?:netrc|npmrc|pypirc|pgpass)\b",
    r"\.kube/config\b",
    r"\.docker/config\.json\b",
    r"\.gnupg\b",
    r"/etc/(?:passwd|shadow|sudoers)\b",
    r"\.(?:bash|zsh)_history\b",
    r"\bwallet\.dat\b",
    r"\bprivate[\s_-]key\b",
)

# Telling the model to move data out of the conversation.
EXFILTRATION_PHRASES: tuple[str, ...] = (
    r"\b(?:pass|send|put|include|append|add|provide|place|copy|embed|encode)\b[^.\n]{0,30}?"
    r"\b(?:its|their|the|this|that|file|key)\s+(?:contents?|data|text|output|values?|results?)\b[^.\n]{0,30}?"
    r"\b(?:as|in|into|to|via|through)\b[^.\n]{0,20}?\b(?:param(?:eter)?s?|arguments?|field|sidenote|notes?|"
    r"url|query|request|server|endpoint)\b",
    r"\bhttps?://[^\s\"'<>]{1,200}?[?&][a-z_]{0,20}=\s*(?:\{|\$|%7b|<)",
    r"\b(?:curl|wget|nc|netcat)\s+(?:-[a-z]+\s+)*(?:https?://|-d\b|--data)",
    r"\b(?:send|post|forward|upload|report)\b[^.\n]{0,40}?\b(?:to|via)\s+(?:a|the|this|our|my)\s+webhook",
    r"\bexfiltrat\w*",
    r"\b(?:base64|hex)[\s-]*encode\w*\b[^.\n]{0,40}?\b(?:and|then)\s+(?:send|pass|append|include)",
)

# Directing the model to or away from some tool.
CROSS_TOOL_PHRASES: tuple[str, ...] = (
    r"\binstead\s+of\s+(?:using|calling|invoking)\b",
    r"\b(?:do\s+not|don'?t|never)\s+(?:use|call|invoke)\s+(?:any\s+|the\s+)?other\s+tools?\b",
    r"\b(?:when|whenever|every\s+time)\s+(?:the\s+)?(?:user|you)\s+(?:calls?|uses?|invokes?)\s+(?:the\s+|any\s+)?"
    r"(?:other\s+)?\w+\s+tool\b",
    r"\b(?:also|always)\s+(?:call|invoke|use)\s+(?:the\s+)?\w+\s+tool\s+(?:first|before|after|too|as\s+well)\b",
)

_ANSI = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Format (Cf) characters other than bidi and tag characters and the zero-width joiner (checked apart: emoji use
# it), blank look-alikes, the BOM, and variation selectors beyond what one emoji needs.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e\u200b\u200c\u200e\u200f\u2060-\u2064"
    "\u206a-\u206f\u2800\u3164\ufeff\uffa0\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001]"
    "|[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}|[\U000e0100-\U000e01ef]"
)
_TAGS = re.compile("(\U0001f3f4)?([\U000e0000-\U000e007f]+)")
# An emoji subdivision flag: black flag, 2-7 tag letters or digits, cancel tag (e.g. Scotland, England, Wales).
_FLAG_TAGS = re.compile("[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,7}\U000e007f")
_EMOJI_NEIGHBOUR = re.compile("[\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f]")
_ZWJ = "\u200d"
_BLANK = "[\\s\u2800\u3164\u115f\u1160\uffa0\u200b]"
_PADDING = re.compile(f"{_BLANK}{{{PADDING_RUN},}}+")
# What phrase matching ignores, so that 'i\u200dgnore' still reads as 'ignore' (flagged on its own as well).
_STRIP = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufe00-\ufe0f\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{2,127}")
_IDENTIFIER = re.compile(r"[_.\-0-9]|[a-z][A-Z]")
_TOOL_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_FLAGS = re.IGNORECASE | re.UNICODE


def _alternation(patterns: Collection[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), _FLAGS)


_PHRASE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("hidden_instructions", _alternation([p for _, p in HIDDEN_INSTRUCTION_PHRASES])),
    ("sensitive_paths", _alternation(SENSITIVE_PATH_PATTERNS)),
    ("exfiltration", _alternation(EXFILTRATION_PHRASES)),
    ("cross_tool_reference", _alternation(CROSS_TOOL_PHRASES)),
)
_SIZED_FIELDS = ("description", "title", "instructions")
# Rules that also match honest descriptions ("searches .env files", "imports a private key", "see search_issues"):
# one of them alone is reported, not blocking; two different ones together, or any other rule, block.
ADVISORY_RULES = frozenset({"sensitive_paths", "cross_tool_reference"})


def blocking(findings: Collection[Finding]) -> bool:
    """Whether findings are enough to hold a tool back under `scan: block`."""
    rules = {finding.rule for finding in findings}
    return bool(rules - ADVISORY_RULES) or len(rules) >= 2


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that matched: where (field path and character offset) and what (an escaped excerpt)."""

    rule: str
    field: str
    offset: int
    excerpt: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "field": self.field, "offset": self.offset, "excerpt": self.excerpt}


class Scanner:
    """Scans tools and servers. `foreign_tools` and `foreign_servers` are the names of every other server's
    tools and the other servers themselves: a description that names one reaches across servers (unless the
    name is one of `own_tools`)."""

    def __init__(
        self,
        *,
        foreign_tools: Collection[str] = (),
        foreign_servers: Collection[str] = (),
        own_tools: Collection[str] = (),
    ) -> None:
        # Plain words ('search', 'query') are names too, and would match ordinary prose: only names that look
        # like identifiers (with '_', '-', '.', a digit or an inner capital) count as references.
        # A server naming its own tool (which another server may also have) is no reference across servers.
        own = frozenset(own_tools)
        self._foreign_tools = frozenset(name for name in foreign_tools if _IDENTIFIER.search(name) and name not in own)
        self._foreign_prefixes = tuple(f"{server}__" for server in foreign_servers if server)

    def tool(self, definition: Mapping[str, Any]) -> list[Finding]:
        findings: list[Finding] = []
        name = definition.get("name")
        if not isinstance(name, str) or _TOOL_NAME.fullmatch(name) is None:
            shown = name if isinstance(name, str) else repr(name)
            findings.append(Finding("invalid_name", "name", 0, escape(shown[: _EXCERPT * 2])))
        budget = TOOL_SCAN_BUDGET
        for field, text in _tool_texts(definition):
            if budget <= 0:
                findings.append(Finding("oversized", field, 0, f"metadata past {TOOL_SCAN_BUDGET} characters"))
                break
            findings.extend(self.text(field, text, limit=budget))
            budget -= min(len(text), SCAN_LIMIT)
        return findings

    def server(self, server_info: Mapping[str, Any] | None, instructions: str | None) -> list[Finding]:
        findings: list[Finding] = []
        for key in ("name", "title", "description", "version"):
            value = (server_info or {}).get(key)
            if isinstance(value, str):
                findings.extend(self.text(f"serverInfo.{key}", value))
        if instructions:
            findings.extend(self.text("instructions", instructions))
        return findings

    def text(self, field: str, text: str, *, limit: int = SCAN_LIMIT) -> list[Finding]:
        """Every rule over one field; at most one finding per rule (the first match)."""
        findings: list[Finding] = []
        if field.rsplit(".", 1)[-1] in _SIZED_FIELDS and len(text) * 4 > OVERSIZED_BYTES:
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > OVERSIZED_BYTES:
                findings.append(Finding("oversized", field, OVERSIZED_BYTES, f"{size} bytes"))
        text = text[: min(limit, SCAN_LIMIT)]
        for rule, pattern in (("ansi_escape", _ANSI), ("bidi_control", _BIDI)):
            if match := pattern.search(text):
                findings.append(_finding(rule, field, text, match.start(), match.end()))
        findings.extend(self._invisible(field, text))
        if (start := text.find("<!--")) >= 0:
            end = text.find("-->", start)
            findings.append(_finding("hidden_in_comment", field, text, start, None if end < 0 else end + 3))
        for match in _PADDING.finditer(text):
            if match.end() < len(text):
                findings.append(_finding("padding", field, text, match.end(), None))
                break
        findings.extend(self._phrases(field, text))
        return findings

    def _invisible(self, field: str, text: str) -> Iterator[Finding]:
        for match in _TAGS.finditer(text):
            flag, tags = match.groups()
            if flag is not None and _FLAG_TAGS.fullmatch(tags):
                continue
            hidden = "".join(chr(ord(c) - 0xE0000) for c in tags if 0xE0020 <= ord(c) <= 0xE007E)
            yield Finding("invisible_unicode", field, match.start(2), escape(f"tag characters spelling {hidden!r}"))
            yield from self._phrases(f"{field} (tag characters)", hidden)
            break
        for match in _INVISIBLE.finditer(text):
            start = match.start()
            if text[start] == "\ufeff" and start == 0:
                continue  # a leading byte-order mark is an encoding artefact, not hidden text
            yield _finding("invisible_unicode", field, text, start, match.end())
            break
        position = text.find(_ZWJ)
        while position >= 0:
            if not (_is_emoji_at(text, position - 1) and _is_emoji_at(text, position + 1)):
                yield _finding("invisible_unicode", field, text, position, position + 1)
                break
            position = text.find(_ZWJ, position + 1)

    def _phrases(self, field: str, text: str) -> Iterator[Finding]:
        plain, offsets = _without_invisible(text)
        for rule, pattern in _PHRASE_RULES:
            if match := pattern.search(plain):
                start = offsets[match.start()] if offsets else match.start()
                end = offsets[match.end() - 1] + 1 if offsets else match.end()
                yield _finding(rule, field, text, start, end)
        if finding := self._foreign_reference(field, plain, offsets):
            yield finding

    def _foreign_reference(self, field: str, plain: str, offsets: list[int] | None) -> Finding | None:
        if not self._foreign_tools and not self._foreign_prefixes:
            return None
        for match in _TOKEN.finditer(plain):
            token = match.group().rstrip(".-")
            if token in self._foreign_tools or token.startswith(self._foreign_prefixes):
                start = offsets[match.start()] if offsets else match.start()
                return Finding("cross_tool_reference", field, start, escape(f"names {token!r}"))
        return None


def _tool_texts(definition: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every text of a tool a model reads: title, description, and the strings and parameter names of its
    schemas and annotations (bounded in depth and count)."""
    for key in ("title", "description"):
        value = definition.get(key)
        if isinstance(value, str):
            yield key, value
    budget = [_MAX_STRINGS]
    for key in ("inputSchema", "outputSchema", "annotations"):
        yield from _strings(definition.get(key), key, 0, budget)


def _strings(value: Any, path: str, depth: int, budget: list[int]) -> Iterator[tuple[str, str]]:
    if budget[0] <= 0 or depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        budget[0] -= 1
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if path.endswith("properties") and isinstance(key, str):
                budget[0] -= 1
                yield f"{path}[{escape(key[:_EXCERPT])}]", key
            yield from _strings(
                item, f"{path}.{escape(key[:_EXCERPT])}" if isinstance(key, str) else path, depth + 1, budget
            )
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, path, depth + 1, budget)


def _without_invisible(text: str) -> tuple[str, list[int] | None]:
    """`text` without the characters phrase matching ignores, and each kept character's original offset
    (None when nothing was removed)."""
    if _STRIP.search(text) is None:
        return text, None
    offsets = [i for i, ch in enumerate(text) if _STRIP.match(ch) is None]
    return "".join(text[i] for i in offsets), offsets


def _is_emoji_at(text: str, index: int) -> bool:
    return 0 <= index < len(text) and _EMOJI_NEIGHBOUR.match(text, index) is not None


def _finding(rule: str, field: str, text: str, start: int, end: int | None) -> Finding:
    stop = min(len(text), (end if end and end > start else start + 1) + _EXCERPT, start + 4 * _EXCERPT)
    return Finding(rule, field, start, escape(text[max(0, start - _EXCERPT) : stop]))
