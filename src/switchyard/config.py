"""The configuration file (`switchyard.yaml`, JSON accepted): models, loading and `${VAR}` expansion.

Errors name the file, the line, the key path and what was expected. Values of `env` and `headers` never
appear in an error, and other values are shown as written in the file (before `${VAR}` expansion).
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit, urlunsplit

import yaml
from dotenv import dotenv_values  # a dependency of pydantic-settings
from platformdirs import user_config_path
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Path_ = tuple[str | int, ...]  # a key path in the document
Problems = list[tuple[Path_, str]]


# -- errors


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    key: str
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return ": ".join(part for part in (where, self.key, self.message) if part)


class ConfigError(Exception):
    """One or more problems in a config; `file`, `line`, `key` and `message` are the first one's."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = list(problems)
        if not self.problems:
            raise ValueError("ConfigError needs at least one problem")
        first = self.problems[0]
        self.file, self.line, self.key, self.message = first.file, first.line, first.key, first.message
        super().__init__("\n".join(map(str, self.problems)))

    @classmethod
    def of(cls, file: str, message: str, *, line: int | None = None, key: str = "") -> ConfigError:
        return cls([ConfigProblem(file, line, key, message)])


def _problem(message: str, *at: str) -> PydanticCustomError:
    """A validation error reported as is, `at` a key below the validated model."""
    return PydanticCustomError("switchyard", "{message}", {"message": message, "at": at})


def _expected(what: str, *at: str) -> PydanticCustomError:
    """A validation error reported as 'expected <what>, got <the value>'."""
    return PydanticCustomError("switchyard_expected", "{message}", {"message": f"expected {what}", "at": at})


# -- models

_IDENT = re.compile(r"[A-Za-z0-9_-]+")


def _ident(value: str) -> str:
    if not _IDENT.fullmatch(value):
        raise _expected("only letters, digits, '_' and '-'")
    return value


Ident = Annotated[str, AfterValidator(_ident)]
Transport = Literal["stdio", "http", "sse"]
_TRANSPORT_ALIASES = {"streamable-http": "http", "streamablehttp": "http", "streamable_http": "http"}


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, coerce_numbers_to_str=True, validate_by_name=True, validate_by_alias=True
    )


class HttpConfig(_Model):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8765
    allowed_hosts: list[str] = []
    allowed_origins: list[str] = []
    session_idle_timeout: Annotated[float, Field(gt=0)] = 1800.0  # seconds; clients often never DELETE


def _endpoint_url(value: str, *, loopback_http: bool = False) -> str:
    """An absolute https:// URL (http:// too for a loopback host, when `loopback_http`), without a fragment."""
    parts = urlsplit(value)
    secure = parts.scheme == "https" or (
        loopback_http and parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    )
    if not secure or not parts.hostname or parts.fragment:
        raise _expected("an https:// URL without a fragment" + (" (http:// only on loopback)" if loopback_http else ""))
    return value


class OAuthConfig(_Model):
    """OAuth 2.1 resource-server mode: bearer JWTs from `issuer`, verified against its JWKS (front/auth.py)."""

    resource: Annotated[str, AfterValidator(lambda v: _endpoint_url(v, loopback_http=True))]  # canonical /mcp URL
    issuer: str
    jwks: str  # a JWKS file, or its https:// URL
    authorization_servers: list[str] = []  # announced in the protected-resource metadata; default [issuer]
    audience: list[str] = []  # accepted `aud` values; default: [resource]
    clock_skew: Annotated[float, Field(ge=0, le=60)] = 30.0
    profile_claim: str | None = None  # the claim naming the token's profile
    admin_scope: str | None = None  # a `scope` value that makes the token's holder an admin
    jwks_refresh: Annotated[float, Field(ge=60)] = 3600.0  # seconds between fetches of a JWKS URL

    @field_validator("jwks")
    @classmethod
    def _jwks_source(cls, value: str) -> str:
        return _endpoint_url(value, loopback_http=True) if "://" in value else value


class AuthConfig(_Model):
    """Who may use the HTTP front. Off by default: stdio and loopback HTTP work without credentials."""

    api_keys: bool = False  # accept the registry's API keys (`switchyard keys create`) as bearer tokens
    oauth: OAuthConfig | None = None
    allow_unauthenticated_remote: bool = False  # serve a non-loopback address without auth anyway

    @property
    def enabled(self) -> bool:
        return self.api_keys or self.oauth is not None


class RestartConfig(_Model):
    """Backoff between restarts of a backend that exited."""

    initial_delay: Annotated[float, Field(gt=0)] = 0.5
    max_delay: Annotated[float, Field(gt=0)] = 30.0
    multiplier: Annotated[float, Field(ge=1)] = 2.0

    @model_validator(mode="after")
    def _ordered(self) -> RestartConfig:
        if self.max_delay < self.initial_delay:
            raise _expected(f"at least initial_delay ({self.initial_delay:g})", "max_delay")
        return self


class GatewayConfig(_Model):
    naming: Literal["prefix", "none", "auto"] = "prefix"
    separator: Ident = "__"
    max_name_length: Annotated[int, Field(ge=1, le=128)] = 64
    request_timeout: Annotated[float, Field(gt=0)] = 60.0
    page_size: Annotated[int, Field(ge=0)] = 0  # items per page of an aggregate list; 0 = one page
    max_request_bytes: Annotated[int, Field(ge=1024)] = 4 * 1024 * 1024  # one client message (HTTP body, stdio line)
    registry: Annotated[str | None, Field(repr=False)] = None  # a database URL may hold a password
    http: HttpConfig = HttpConfig()
    restart: RestartConfig = RestartConfig()


class AllowDeny(_Model):
    """Glob patterns; an empty `allow` allows all and `deny` wins (pipeline/allowlist.py applies them)."""

    allow: list[str] = []
    deny: list[str] = []


class UrlRule(_Model):
    """Where a URL argument may point: its scheme, host (exact, or `*.domain` for subdomains) and port."""

    schemes: list[str] = ["https"]
    hosts: list[str] = []  # empty: any host
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = []  # empty: the scheme's default port only


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise _expected(f"a regular expression ({exc})") from None
    return value


Regex = Annotated[str, AfterValidator(_regex)]


class ArgumentRule(_Model):
    """Constraints on one argument of a tool (pipeline/arguments.py); every constraint given must hold."""

    path_under: list[str] | None = None  # absolute POSIX roots; the path must lie under one of them
    url: UrlRule | None = None
    pattern: Regex | None = None  # the whole value must match
    enum: list[Any] | None = None
    max_length: Annotated[int | None, Field(ge=0)] = None

    @field_validator("path_under")
    @classmethod
    def _absolute_roots(cls, roots: list[str] | None) -> list[str] | None:
        if roots is not None and not all(root.startswith("/") for root in roots):
            raise _expected("absolute paths (starting with /)")
        return roots


# tool (public name, "server:tool", or a glob of either) -> argument name -> rule
ArgumentRules = dict[str, dict[str, ArgumentRule]]


class RedactionConfig(_Model):
    """Secrets removed from backend results and errors before a client sees them (pipeline/redaction.py)."""

    enabled: bool = True
    patterns: list[Regex] = []  # more secret formats, as regular expressions


class PoliciesConfig(_Model):
    servers: AllowDeny = AllowDeny()  # matched against server names
    tools: AllowDeny = AllowDeny()  # matched against "server:tool" (the backend's own tool name)
    arguments: ArgumentRules = {}
    redaction: RedactionConfig = RedactionConfig()


class LimitsConfig(_Model):
    """Per principal and per session limits (pipeline/limits.py), and the backends' circuit breakers."""

    rate: Annotated[float, Field(ge=0)] = 0  # calls per second per principal; 0: unlimited
    burst: Annotated[int | None, Field(ge=1)] = None  # calls at once above the rate; default: twice the rate
    max_inflight: Annotated[int, Field(ge=0)] = 0  # concurrent calls per principal; 0: unlimited
    max_inflight_per_session: Annotated[int, Field(ge=0)] = 64  # 0: unlimited
    call_timeout_s: Annotated[float | None, Field(gt=0)] = None  # default: the server's or gateway's timeout
    max_response_bytes: Annotated[int, Field(ge=1024)] = 16 * 1024 * 1024  # one backend message, decoded
    circuit_failures: Annotated[int, Field(ge=0)] = 5  # consecutive failures that open a breaker; 0: never
    circuit_cooldown_s: Annotated[float, Field(gt=0)] = 10.0


class ProfileLimits(_Model):
    """A profile's own limits; what is left out comes from the top-level `limits`."""

    rate: Annotated[float | None, Field(ge=0)] = None
    burst: Annotated[int | None, Field(ge=1)] = None
    max_inflight: Annotated[int | None, Field(ge=0)] = None
    max_inflight_per_session: Annotated[int | None, Field(ge=0)] = None
    call_timeout_s: Annotated[float | None, Field(gt=0)] = None


class ProfileConfig(_Model):
    """A virtual server: the servers and tools one kind of client may see and call, its mode and limits.

    A profile narrows the top-level `policies`, never widens them: both must allow a tool.
    """

    servers: AllowDeny = AllowDeny()
    tools: AllowDeny = AllowDeny()  # public names or "server:tool", globs
    arguments: ArgumentRules = {}
    mode: SearchMode | None = None  # default: search.mode
    limits: ProfileLimits = ProfileLimits()


class PinningConfig(_Model):
    """What happens when a backend's tool definition changes after it was pinned, and to what the scan finds."""

    on_change: Literal["withhold", "keep_pinned"] = "withhold"  # keep_pinned: serve the approved text, forward calls
    on_new: Literal["pin", "hold"] = "pin"  # hold: every new tool waits for `switchyard pins approve`
    scan: Literal["block", "report", "off"] = "block"  # block: a tool with findings is withheld until approved


class AuditConfig(_Model):
    """What the audit log keeps of each call."""

    arguments: Literal["off", "names", "redacted"] = "names"  # names: which arguments, not their values


class AdminConfig(_Model):
    """The admin API under /admin/api (admin credentials only)."""

    enabled: bool = True
    allow_command_changes: bool = False  # let the API set a server's command, args, env or cwd


class EgressConfig(_Model):
    """Addresses the gateway may be pointed at through the admin API."""

    allow: list[str] = []  # "host:port" entries allowed although loopback, private or link-local


class MetricsConfig(_Model):
    """The Prometheus endpoint /metrics."""

    public: bool = False  # serve it without admin credentials, only while the HTTP front listens on loopback


class SecurityConfig(_Model):
    pinning: PinningConfig = PinningConfig()


SearchMode = Literal["all", "search", "dynamic", "auto"]


class SearchConfig(_Model):
    """How clients see the tool catalogue: every schema, or meta-tools that search it (search/)."""

    # all: every tool; search: only the meta-tools; dynamic: meta-tools, and what a search finds is bound into the
    # session's tools/list; auto: all while the full tools/list costs fewer than budget_tokens, else search.
    mode: SearchMode = "auto"
    budget_tokens: Annotated[int, Field(ge=0)] = 5000
    always: list[str] = []  # public tool names or globs listed in every mode
    max_bound: Annotated[int, Field(ge=1)] = 20  # dynamic mode: tools bound per session, least recently used dropped
    search_tool_name: Ident = "search_tools"
    call_tool_name: Ident = "call_tool"
    embeddings: bool = False  # hybrid ranking with a local MiniLM model (the `embeddings` extra)

    @model_validator(mode="after")
    def _distinct_names(self) -> SearchConfig:
        if self.search_tool_name == self.call_tool_name:
            raise _problem("the two meta-tools need distinct names", "call_tool_name")
        return self


class ServerConfig(_Model):
    """One backend, as Claude Desktop / Claude Code / Cursor / VS Code write it, plus Switchyard's options."""

    name: str
    type: Transport = "stdio"
    command: str | None = None
    args: list[str] = []
    env: dict[str, str] = {}
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    disabled: bool = False
    prefix: Ident | None = None
    timeout: Annotated[float | None, Field(gt=0)] = None
    protocol: Literal["auto", "legacy", "2026-07-28"] = "auto"  # the era to speak; auto = probe server/discover
    # shared: one upstream session for every client; per-client: each handshake-era client also gets its own,
    # so that the backend's requests and notifications need no attribution (one more process per client).
    sessions: Literal["shared", "per-client"] = "shared"
    env_file: Annotated[str | None, Field(alias="envFile")] = None
    _raw: Mapping[str, Any] | None = PrivateAttr(None)  # the entry before expansion, for redacted()

    @model_validator(mode="before")
    @classmethod
    def _normalise_type(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            kind = data.get("type")
            if kind is None:
                data = {k: v for k, v in data.items() if k != "type"}
                if "command" not in data and data.get("url") is not None:
                    data["type"] = "http"
            elif isinstance(kind, str):
                data = {**data, "type": _TRANSPORT_ALIASES.get(kind.lower(), kind.lower())}
        return data

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value:
            raise _problem("a server name must not be empty")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parts = urlsplit(value)
            except ValueError:
                parts = urlsplit("")
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise _expected("an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _fits_transport(self) -> ServerConfig:
        if self.type == "stdio":
            if self.command == "":
                raise _expected("a command", "command")
            if self.command is None:
                if "type" in self.model_fields_set:
                    raise _problem("a stdio server needs 'command'")
                raise _problem("needs 'command' (a stdio server) or 'url' (an http or sse server)")
            misplaced = ["url", "headers"]
        else:
            if self.url is None:
                raise _problem(f"an {self.type} server needs 'url'")
            misplaced = ["command", "args", "env", "cwd", "env_file"]
        for field in misplaced:
            if getattr(self, field):
                key = type(self).model_fields[field].alias or field
                if "type" not in self.model_fields_set:
                    raise _problem("a server has 'command' (stdio) or 'url' (http or sse), not both", key)
                article = "a" if self.type == "stdio" else "an"
                raise _problem(f"'{key}' does not apply to {article} {self.type} server", key)
        return self

    @property
    def namespace(self) -> str:
        """The prefix of this server's public names: `prefix`, else the name with other chars made `_`."""
        return self.prefix or re.sub(r"[^A-Za-z0-9_-]", "_", self.name)

    def __eq__(self, other: object) -> bool:  # the values, not how they were written
        if not isinstance(other, ServerConfig):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:  # repr() and str() show no secrets
        return list(self.redacted().items())

    def redacted(self) -> dict[str, Any]:
        """For display: env and header values become "***"; what came from `${VAR}` shows as written."""
        raw = self._raw or {}

        def shown(value: str, written: Any, secret: bool) -> str:
            if isinstance(written, str) and "${" in written:
                return written
            return "***" if secret else value

        out: dict[str, Any] = {"name": self.name, "type": self.type}
        out.update(self.model_dump(by_alias=True, exclude_defaults=True, exclude={"name", "type"}))
        for key in ("command", "cwd"):
            if key in out:
                out[key] = shown(out[key], raw.get(key), False)
        if self.url is not None:
            out["url"] = shown(_scrub_url(self.url), raw.get("url"), False)
        written_args = raw.get("args")
        if self.args and isinstance(written_args, list) and len(written_args) == len(self.args):
            out["args"] = [shown(a, w, False) for a, w in zip(self.args, written_args, strict=True)]
        for key in ("env", "headers"):
            written = raw.get(key)
            written = written if isinstance(written, Mapping) else {}
            if key in out:
                out[key] = {k: shown(v, written.get(k), True) for k, v in getattr(self, key).items()}
        return out


def _scrub_url(url: str) -> str:
    """The URL without a password or query values."""
    parts = urlsplit(url)
    netloc, query = parts.netloc, parts.query
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{host}"
    if query:
        query = "&".join(f"{item.partition('=')[0]}=***" for item in query.split("&") if item)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class Config(_Model):
    gateway: GatewayConfig = GatewayConfig()
    policies: PoliciesConfig = PoliciesConfig()
    profiles: dict[Ident, ProfileConfig] = {}
    limits: LimitsConfig = LimitsConfig()
    search: SearchConfig = SearchConfig()
    auth: AuthConfig = AuthConfig()
    security: SecurityConfig = SecurityConfig()
    audit: AuditConfig = AuditConfig()
    admin: AdminConfig = AdminConfig()
    egress: EgressConfig = EgressConfig()
    metrics: MetricsConfig = MetricsConfig()
    servers: dict[str, ServerConfig] = {}  # in file order
    source: str | None = Field(None, exclude=True)  # the file it came from

    @model_validator(mode="before")
    @classmethod
    def _client_formats(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        # Ignored: VS Code's `inputs` (prompts), and `x-...` keys (a place for YAML anchors, as in Compose).
        data = {k: v for k, v in data.items() if k != "inputs" and not str(k).startswith("x-")}
        if "mcpServers" in data:
            if "servers" in data:
                raise _problem("'mcpServers' and 'servers' (its VS Code alias) are both present; keep one", "servers")
            data["servers"] = data.pop("mcpServers")
        sections = ("gateway", "policies", "profiles", "limits", "search", "auth", "security", "servers")
        for section in (*sections, "audit", "admin", "egress", "metrics"):
            if section in data and data[section] is None:  # a heading with everything below commented out
                del data[section]
        servers = data.get("servers")
        if isinstance(servers, Mapping):
            data["servers"] = {
                name: {"name": name, **entry} if isinstance(entry, Mapping) and "name" not in entry else entry
                for name, entry in servers.items()
            }
        return data

    @model_validator(mode="after")
    def _distinct_namespaces(self) -> Config:
        owners: dict[str, str] = {}
        for key, server in self.servers.items():
            if server.name != key:
                raise _problem(f"the server is named {server.name!r} but listed as {key!r}", "servers", key)
            owner = owners.setdefault(server.namespace, key)
            if owner != key:
                raise _problem(
                    f"namespace {server.namespace!r} is already used by server {owner!r}; "
                    "give one of them a distinct 'prefix'",
                    "servers",
                    key,
                    *(["prefix"] if server.prefix else []),
                )
        return self

    def enabled_servers(self) -> list[ServerConfig]:
        return [server for server in self.servers.values() if not server.disabled]


# -- reading


def parse_config(
    text: str,
    *,
    source: str = "<string>",
    environ: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> Config:
    """Parse a config text; a `source` ending in .json is read as JSON (comments and trailing commas allowed).

    `base_dir` resolves relative `envFile` paths; it defaults to the directory of `source`.
    """
    data, root = _read(text, source)
    if base_dir is None:
        base_dir = Path.cwd() if source.startswith("<") else Path(source).parent
    return _build(data, root, source, os.environ if environ is None else environ, Path(base_dir))


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> Config:
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError.of(file, "config file not found") from None
    except IsADirectoryError:
        raise ConfigError.of(file, "is a directory, not a config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError.of(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError.of(file, f"cannot read: {exc.strerror}") from None
    return parse_config(text, source=file, environ=environ, base_dir=Path(file).parent)


def server_config_from_dict(
    name: str,
    data: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    source: str = "<command line>",
) -> ServerConfig:
    """One server entry (e.g. added from the CLI), expanded and validated like one in a file."""
    config = _build(
        {"mcpServers": {name: dict(data)}},
        None,
        source,
        os.environ if environ is None else environ,
        Path.cwd() if base_dir is None else Path(base_dir),
    )
    return config.servers[name]


def sample_config_path() -> Path:
    return Path(str(files("switchyard").joinpath("sample_config.yaml")))


def default_config_path() -> Path:
    """$SWITCHYARD_CONFIG, else ./switchyard.yaml, else the user config dir's, else the bundled sample."""
    if configured := os.environ.get("SWITCHYARD_CONFIG"):
        return Path(configured).expanduser()
    for candidate in (
        Path("switchyard.yaml"),
        user_config_path("switchyard", appauthor=False) / "switchyard.yaml",
    ):
        if candidate.is_file():
            return candidate
    return sample_config_path()


_JSONC = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA = re.compile(r'("(?:\\.|[^"\\])*")|,(?=\s*[}\]])')


def read_document(text: str, source: str) -> Any:
    """A config text as written: before validation and `${VAR}` expansion (JSON for a .json source, else YAML)."""
    return _read(text, source)[0]


def _read(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    text = text.removeprefix("\ufeff")
    return _read_json(text, source) if source.lower().endswith(".json") else _read_yaml(text, source)


def _read_json(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    # Comments and trailing commas (VS Code's mcp.json is JSONC) become spaces: lines and columns stay put.
    text = _JSONC.sub(lambda m: m[1] or re.sub(r"[^\n]", " ", m[0]), text)
    text = _TRAILING_COMMA.sub(lambda m: m[1] or " ", text)
    try:
        data = json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        raise ConfigError([ConfigProblem(source, exc.lineno, "", f"invalid JSON: {exc.msg}", exc.colno)]) from None
    try:  # JSON is YAML once tabs are spaces: its nodes give line numbers
        root = yaml.compose(text.replace("\t", " "), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    return data, root


def _read_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        what = exc.problem or exc.context or "unreadable"
        if exc.context and exc.problem and exc.context_mark:
            what += f" ({exc.context} on line {exc.context_mark.line + 1})"
        if "'\\t'" in what:
            what += "; indent with spaces, not tabs"
        raise ConfigError([ConfigProblem(source, line, "", f"invalid YAML: {what}", column)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError.of(source, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _build(data: Any, root: yaml.Node | None, source: str, environ: Mapping[str, str], base: Path) -> Config:
    problems: Problems = _duplicate_keys(root, ()) if root is not None else []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(((), f"expected a mapping at the top level, got {_kind(data)}"))
        raise _config_error(problems, root, source)
    if "source" in data:
        problems.append((("source",), "unknown key 'source'"))
    servers_key = "servers" if "servers" in data and "mcpServers" not in data else "mcpServers"
    expanded = {k: v if k == "inputs" else _expand(v, (k,), environ, problems) for k, v in data.items()}
    if isinstance(servers := expanded.get(servers_key), dict):
        expanded[servers_key] = {
            name: _prepare_server(entry, (servers_key, name), environ, base, problems)
            for name, entry in servers.items()
        }
    early = [path for path, _ in problems]
    expanded["source"] = source
    try:
        config = Config.model_validate(expanded)
    except ValidationError as exc:
        for path, message in _translate(exc, data):
            if not any(path[: len(p)] == p for p in early):  # already reported (e.g. an unset variable)
                problems.append((path, message))
    if problems:
        raise _config_error(problems, root, source)
    for name, server in config.servers.items():
        written = data[servers_key].get(name) if isinstance(data.get(servers_key), dict) else None
        if isinstance(written, Mapping):
            server._raw = written
    return config


def _config_error(problems: Problems, root: yaml.Node | None, source: str) -> ConfigError:
    found = [ConfigProblem(source, _line_of(root, path), _key_path(path), message) for path, message in problems]
    return ConfigError(sorted(found, key=lambda p: (p.line is None, p.line or 0)))


def _prepare_server(entry: Any, path: Path_, environ: Mapping[str, str], base: Path, problems: Problems) -> Any:
    """`~` in command, cwd and envFile; the envFile's variables under the explicit `env`."""
    if not isinstance(entry, dict):
        return entry
    entry = dict(entry)
    for key in ("command", "cwd", "envFile"):
        if isinstance(entry.get(key), str):
            entry[key] = _expand_user(entry[key], environ)
    env_file = entry.get("envFile")
    if isinstance(env_file, str) and env_file:
        file = base / env_file
        entry["envFile"] = str(file)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            problems.append(((*path, "envFile"), f"cannot read env file {str(file)!r}: {exc.strerror}"))
            return entry
        env = entry.get("env")
        if env is None or isinstance(env, dict):
            loaded = dotenv_values(stream=io.StringIO(text), interpolate=False)
            entry["env"] = {k: v for k, v in loaded.items() if v is not None} | (env or {})
    return entry


def _expand_user(value: str, environ: Mapping[str, str]) -> str:
    if value == "~" or value.startswith(("~/", "~" + os.sep)):
        return (environ.get("HOME") or os.path.expanduser("~")) + value[1:]
    return os.path.expanduser(value) if value.startswith("~") else value


# -- ${VAR} expansion

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_REFERENCE_BODY = re.compile(r"(input:)?([A-Za-z0-9_.-]+)(?::-(.*))?", re.S)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _expand(value: Any, path: Path_, environ: Mapping[str, str], problems: Problems) -> Any:
    if isinstance(value, str):
        return _expand_string(value, path, environ, problems) if "${" in value else value
    if isinstance(value, dict):
        return {k: _expand(v, (*path, k), environ, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*path, i), environ, problems) for i, v in enumerate(value)]
    return value


def _expand_string(text: str, path: Path_, environ: Mapping[str, str], problems: Problems) -> str:
    """`${VAR}`, `${VAR:-default}` (also when VAR is empty), `${input:ID}` as `${ID}`; `$${` is `${`."""

    def substitute(match: re.Match[str]) -> str:
        if match[0] == "$${":
            return "${"
        body = _REFERENCE_BODY.fullmatch(match[1])
        if body is None or (not body[1] and not _ENV_NAME.fullmatch(body[2])):
            problems.append(
                (path, f"invalid variable reference {match[0]!r}: expected ${{NAME}} or ${{NAME:-default}}")
            )
            return match[0]
        is_input, name, default = body[1], body[2], body[3]
        # An input id such as `api-key` is also looked up as API_KEY, a name a shell can set.
        names = list(dict.fromkeys([name, re.sub(r"\W", "_", name).upper()] if is_input else [name]))
        value = next((environ[n] for n in names if n in environ), None)
        if default is not None and not value:
            return default
        if value is None:
            if is_input:
                wanted = " or ".join(map(repr, names))
                problems.append((path, f"input {name!r} is not set: set the environment variable {wanted}"))
            else:
                problems.append(
                    (path, f"environment variable {name!r} is not set (${{{name}:-default}} gives a default)")
                )
            return match[0]
        return value

    return _REFERENCE.sub(substitute, text)


# -- locating and describing problems


def _duplicate_keys(node: yaml.Node, path: Path_, seen: set[int] | None = None) -> Problems:
    seen = set() if seen is None else seen
    if id(node) in seen:
        return []
    seen.add(id(node))
    found: Problems = []
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in lines and key != "<<":
                found.append(((*path, key), f"duplicate key {key!r} (first on line {lines[key]})"))
            lines.setdefault(key, key_node.start_mark.line + 1)
            found += _duplicate_keys(value_node, (*path, key), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicate_keys(item, (*path, index), seen)
    return found


def _line_of(node: yaml.Node | None, path: Path_) -> int | None:
    """The line of the key at `path` (of the item, in a list), or of its nearest ancestor in the file."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in reversed(node.value) if str(p[0].value) == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _key_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (part if _IDENT.fullmatch(part) else json.dumps(part))
    return out


_TYPE_ERRORS = {
    "string_type", "list_type", "dict_type", "model_type", "model_attributes_type", "literal_error",
    "bool_type", "bool_parsing", "int_type", "int_parsing", "int_from_float", "float_type", "float_parsing",
}  # fmt: skip
_MISSING = object()


def _translate(exc: ValidationError, data: Mapping[str, Any]) -> Problems:
    """Pydantic's errors as (key path in the file, message)."""
    both_keys = "mcpServers" in data and "servers" in data
    out = []
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx") or {}
        loc: Path_ = tuple(p for p in (*error["loc"], *ctx.get("at", ())) if p != "[key]")
        path = loc
        if path[:1] == ("servers",):
            if len(path) == 3 and path[2] == "name":  # the name is the entry's key
                path = path[:2]
            if "mcpServers" in data and not both_keys:
                path = ("mcpServers", *path[1:])
        value = _get(data, path)
        if value is _MISSING:  # not written in the file: the validated input
            value = _get(error["input"], ctx["at"]) if ctx.get("at") else error["input"]
        secret = loc[:1] == ("servers",) and len(loc) > 3 and loc[2] in ("env", "headers")
        out.append((path, _message(error, loc, value, secret)))
    return out


def _message(error: Any, loc: Path_, value: Any, secret: bool) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        close = difflib.get_close_matches(key, _keys_of(_type_at(loc[:-1])), n=1)
        return f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "switchyard":
        return str(ctx["message"])
    if kind == "missing":
        return "required key is missing"
    if value is _MISSING:
        shown = "something else"
    elif secret or not isinstance(value, str | int | float):
        shown = _kind(value)
    else:
        shown = _show(value)
    if kind == "switchyard_expected":
        return f"{ctx['message']}, got {shown}"
    if kind in _TYPE_ERRORS:
        if not (isinstance(value, str) and (kind.endswith("_parsing") or kind == "literal_error")):
            shown = _kind(value)
        return f"expected {_describe(_type_at(loc))}, got {shown}"
    return f"{re.sub(r'^(Input should be|Value error,) ', 'expected ', error['msg'])}, got {shown}"


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if not (in_list or (isinstance(data, Mapping) and part in data)):
            return _MISSING
        data = data[part]
    return data


def _unwrap(tp: Any) -> Any:
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, types.UnionType):
            tp = next(arg for arg in get_args(tp) if arg is not type(None))
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _type_at(loc: Path_) -> Any:
    """The annotation that validates the value at a pydantic `loc` below Config."""
    tp: Any = Config
    for part in loc:
        tp = _unwrap(tp)
        if _is_model(tp):
            field = next((f for n, f in tp.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) in (list, dict):
            tp = get_args(tp)[-1]
        else:
            return None
    return tp


def _keys_of(tp: Any) -> list[str]:
    if not _is_model(tp):
        return []
    keys = [f.alias or n for n, f in tp.model_fields.items() if n not in ("name", "source")]
    return [*keys, "mcpServers"] if tp is Config else keys


def _describe(tp: Any) -> str:
    tp = _unwrap(tp)
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin in (list, dict):
        item = _unwrap(args[-1])
        items = "strings" if item is str else "definitions" if _is_model(item) else _describe(item)
        return f"a list of {items}" if origin is list else f"a mapping of names to {items}"
    return {str: "a string", bool: "true or false", int: "an integer", float: "a number"}.get(tp, "a mapping")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    for tp, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
                     (list, "a list"), (Mapping, "a mapping")):  # fmt: skip
        if isinstance(value, tp):
            return name
    return f"a {type(value).__name__}"


def _show(value: str | int | float) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)
