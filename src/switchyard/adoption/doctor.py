"""`switchyard doctor`: what stands between this machine and a working gateway, each problem with its fix.

Checks, in order: the config parses; `${VAR}` references are set (named, never their values); envFiles exist;
each stdio command resolves (and its runtime's version); http/sse URLs answer; the HTTP front's port is free
(or a Switchyard already serves there); the registry is writable; versions; then `verify`. Nothing here writes
outside a temporary file: a SQLite registry that does not exist yet is checked for where it would be created.
"""

from __future__ import annotations

import errno
import importlib.metadata
import json
import os
import re
import shutil
import socket
import ssl
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2

from switchyard import __version__
from switchyard import config as config_file_format
from switchyard.config import Config, ConfigError, ServerConfig, load_config, parse_config
from switchyard.upstream.process import child_environment

Status = Literal["OK", "WARN", "FAIL"]
URL_TIMEOUT = 5.0
VERSION_TIMEOUT = 10.0
_REFERENCE = re.compile(r"\$\$\{|\$\{(input:)?([A-Za-z0-9_.-]+)(:-[^}]*)?\}")
# Launchers and the runtime each needs, with what to install when it is missing.
_RUNTIMES: dict[str, tuple[list[str], str]] = {
    "npx": (["node", "--version"], "install Node.js 18 or later (npx comes with npm): https://nodejs.org"),
    "node": (["node", "--version"], "install Node.js 18 or later: https://nodejs.org"),
    "uvx": (["uv", "--version"], "install uv: `pip install uv` or https://docs.astral.sh/uv/"),
    "uv": (["uv", "--version"], "install uv: `pip install uv` or https://docs.astral.sh/uv/"),
    "python": (["python", "--version"], "install Python 3 or give the interpreter's full path"),
    "python3": (["python3", "--version"], "install Python 3 or give the interpreter's full path"),
    "docker": (["docker", "--version"], "install Docker and start its daemon"),
}


@dataclass(frozen=True, slots=True)
class Check:
    check: str
    status: Status
    detail: str
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def passed(checks: Sequence[Check]) -> bool:
    return all(c.status != "FAIL" for c in checks)


# -- the config file, as written and as loaded


def _document(path: Path) -> Any:
    text = path.read_text(encoding="utf-8-sig")
    return config_file_format.read_document(text, str(path))


def _server_entries(document: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(document, dict):
        return {}
    entries = document.get("mcpServers", document.get("servers"))
    if not isinstance(entries, dict):
        return {}
    return {str(name): entry for name, entry in entries.items() if isinstance(entry, dict)}


def variable_checks(path: Path, environ: Mapping[str, str]) -> tuple[list[Check], dict[str, str]]:
    """One FAIL per unset `${VAR}` (with the lines that use it); also placeholders that let the rest load."""
    unset: dict[str, list[int]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if line.lstrip().startswith(("#", "//")):
            continue
        for match in _REFERENCE.finditer(line):
            if match[0] == "$${" or match[3] is not None:  # an escape, or a reference with a default
                continue
            names = [match[2]] + ([re.sub(r"\W", "_", match[2]).upper()] if match[1] else [])
            if not any(name in environ for name in names):
                unset.setdefault(names[-1], []).append(number)
    checks = [
        Check(
            "environment",
            "FAIL",
            f"${{{name}}} is not set (used on line {', '.join(map(str, lines))} of {path})",
            f"export {name}=... before starting Switchyard, or write ${{{name}:-default}} in the config",
        )
        for name, lines in unset.items()
    ]
    if not checks:
        checks.append(Check("environment", "OK", "every ${VAR} the config references is set"))
    return checks, {name: f"<{name} unset>" for name in unset}


def env_file_checks(path: Path, document: Any) -> tuple[list[Check], set[str]]:
    """Each envFile exists; returns the servers whose envFile is missing."""
    checks, missing = [], set()
    for name, entry in _server_entries(document).items():
        written = entry.get("envFile")
        if not isinstance(written, str) or not written:
            continue
        file = path.parent / Path(written).expanduser()
        if file.is_file():
            checks.append(Check(f"envFile {name}", "OK", str(file)))
        else:
            missing.add(name)
            checks.append(
                Check(
                    f"envFile {name}",
                    "FAIL",
                    f"{file} does not exist" if not file.exists() else f"{file} is not a file",
                    f"create {file} (KEY=value lines) or remove envFile from server '{name}'",
                )
            )
    return checks, missing


def load(path: Path, environ: Mapping[str, str]) -> tuple[Config | None, list[Check]]:
    """The config (unset variables and missing envFiles set aside: those have their own checks)."""
    variables, placeholders = variable_checks(path, environ)
    try:
        document = _document(path)
    except ConfigError as exc:
        return None, [_config_failure(exc)]
    env_files, missing = env_file_checks(path, document)
    patched = {**environ, **placeholders}
    try:
        config = load_config(path, environ=patched)
    except ConfigError as exc:
        problems = [p for p in exc.problems if not p.message.startswith("cannot read env file")]
        if problems:
            return None, [_config_failure(ConfigError(problems)), *variables, *env_files]
        entries = _server_entries(document)
        for name in missing:
            entries[name].pop("envFile", None)
        config = parse_config(json.dumps(document), source=f"{path}.json", environ=patched, base_dir=path.parent)
    parsed = Check("config", "OK", f"{path} parses ({len(config.servers)} servers)")
    return config, [parsed, *variables, *env_files]


def _config_failure(exc: ConfigError) -> Check:
    where = "; ".join(str(problem) for problem in exc.problems)
    return Check("config", "FAIL", where, "fix the config at the line shown (`switchyard config check FILE`)")


# -- commands and runtimes


async def _version(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    try:
        with anyio.fail_after(VERSION_TIMEOUT):
            done = await anyio.run_process(list(argv), env=dict(env), check=False)
    except (OSError, TimeoutError):
        return None
    text = (done.stdout or done.stderr).decode("utf-8", "replace").strip().splitlines()
    return text[0] if done.returncode == 0 and text else None


def _resolved(server: ServerConfig) -> tuple[str | None, Check | None]:
    """The command's full path, or the failed check that says why there is none."""
    assert server.command is not None
    name = f"command {server.name}"
    if server.cwd and not os.path.isdir(server.cwd):
        return None, Check(
            name, "FAIL", f"cwd {server.cwd} is not a directory", f"create it or fix servers.{server.name}.cwd"
        )
    found = shutil.which(server.command, path=child_environment(server.env).get("PATH"))
    if found is not None:
        return found, None
    if os.path.sep in server.command and os.path.exists(server.command):
        return None, Check(name, "FAIL", f"{server.command} is not executable", f"chmod +x {server.command}")
    return None, Check(name, "FAIL", f"{server.command!r} is not on PATH or an existing file", _install(server.command))


def _install(command: str) -> str:
    return _RUNTIMES.get(os.path.basename(command), ([], f"install {command} or give its full path"))[1]


async def command_check(server: ServerConfig) -> Check:
    """The command resolves, and the runtime its launcher needs (node for npx, uv for uvx, ...) runs."""
    assert server.command is not None
    found, problem = _resolved(server)
    if problem is not None or found is None:
        return problem or Check(f"command {server.name}", "FAIL", "not found", _install(server.command))
    runtime = _RUNTIMES.get(os.path.basename(server.command), ([], ""))[0]
    if not runtime:
        return Check(f"command {server.name}", "OK", found)
    if runtime[0] == os.path.basename(server.command):  # the command is the runtime itself: ask that very one
        runtime = [found, *runtime[1:]]
    version = await _version(runtime, child_environment(server.env))
    if version is None:
        detail = f"{found}, but `{' '.join(runtime)}` does not run"
        return Check(f"command {server.name}", "FAIL", detail, _install(server.command))
    label = "" if runtime[0] == found else f"{runtime[0]} "
    return Check(f"command {server.name}", "OK", f"{found} ({label}{version})")


# -- URLs, the port, the registry


def _network_reason(exc: BaseException, url: str) -> str:
    host = httpx2.URL(url).host
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if isinstance(exc, httpx2.TimeoutException):
        return f"no answer within {URL_TIMEOUT:g}s"
    if any(isinstance(e, socket.gaierror) for e in chain):
        return f"DNS: cannot resolve host {host}"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return f"connection refused: nothing listens at {host}:{httpx2.URL(url).port or 'the default port'}"
    if tls := next((e for e in chain if isinstance(e, ssl.SSLError)), None):
        return f"TLS error: {tls}"
    return f"{type(exc).__name__}: {exc}"


async def url_check(server: ServerConfig) -> Check:
    assert server.url is not None
    name = f"url {server.name}"
    try:
        async with (
            httpx2.AsyncClient(timeout=URL_TIMEOUT) as client,
            client.stream("GET", server.url, headers=server.headers) as response,
        ):
            status = response.status_code
    except httpx2.HTTPError as exc:
        return Check(
            name, "FAIL", f"{server.url} unreachable: {_network_reason(exc, server.url)}", _url_fix(server.name)
        )
    return Check(name, "OK", f"{server.url} answers (HTTP {status})")


def _url_fix(server: str) -> str:
    return f"start the server, or correct servers.{server}.url (scheme, host and port)"


async def port_check(host: str, port: int) -> Check:
    name = "http port"
    if port == 0:
        return Check(name, "OK", "gateway.http.port is 0: a free port is chosen at start")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
            return Check(name, "OK", f"{host}:{port} is free")
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return Check(name, "FAIL", f"cannot listen on {host}:{port}: {exc.strerror}", _port_fix())
    display = f"[{host}]" if ":" in host else host
    try:
        async with httpx2.AsyncClient(timeout=URL_TIMEOUT) as client:
            alive = (await client.get(f"http://{display}:{port}/healthz")).json().get("status") == "alive"
    except (httpx2.HTTPError, ValueError, AttributeError):
        alive = False
    if alive:
        return Check(name, "OK", f"{host}:{port} is in use by a running Switchyard (/healthz answers)")
    return Check(name, "FAIL", f"{host}:{port} is in use by another program", _port_fix())


def _port_fix() -> str:
    return "stop the program using it, or set gateway.http.port (or `serve --http HOST:PORT`) to a free port"


def _writable_dir(directory: Path) -> str | None:
    """Why a file cannot be created in `directory` (created first if missing), or None."""
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a directory"
    if existing != directory:
        return None if os.access(existing, os.W_OK | os.X_OK) else f"cannot create {directory}: {existing} is read-only"
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".switchyard-doctor-"):
            return None
    except OSError as exc:
        return f"cannot write in {directory}: {exc.strerror}"


def _sqlite_check(path: str | None, fix: str) -> Check:
    if path is None:
        return Check("registry", "OK", "in memory (nothing is kept)")
    problem = _writable_dir(Path(path).parent)
    if problem is None and os.path.exists(path) and not os.access(path, os.W_OK):
        problem = f"{path} is read-only"
    if problem:
        return Check("registry", "FAIL", problem, fix)
    return Check("registry", "OK", f"SQLite {path} is writable")


async def registry_check(url: str | None) -> Check:
    from switchyard.registry import default_registry_url, normalize_registry_url
    from switchyard.registry.engine import sqlite_database_path
    from switchyard.registry.urls import redact_url

    full = default_registry_url() if url is None else normalize_registry_url(url)
    fix = "make it writable, or point --registry / gateway.registry / $SWITCHYARD_REGISTRY elsewhere"
    if full.startswith("sqlite"):
        return _sqlite_check(sqlite_database_path(full), fix)
    from switchyard.registry import Store

    try:
        with anyio.fail_after(URL_TIMEOUT * 2):
            store = await Store.open(full)
        await store.close()
    except Exception as exc:
        return Check(
            "registry", "FAIL", f"cannot open {redact_url(full)}: {exc}", "check the URL, the server, the password"
        )
    return Check("registry", "OK", f"{redact_url(full)} connects")


# -- versions


async def version_checks(config: Config | None) -> list[Check]:
    checks = [
        Check("python", "OK" if sys.version_info >= (3, 11) else "FAIL", sys.version.split()[0], "use Python 3.11+"),
        Check("switchyard", "OK", __version__),
        Check("mcp SDK", "OK", importlib.metadata.version("mcp")),
    ]
    node = await _version(["node", "--version"], child_environment({}))
    needs_node = config is not None and any(
        os.path.basename(s.command or "") in ("npx", "node") for s in config.enabled_servers()
    )
    if node is not None:
        checks.append(Check("node", "OK", node))
    else:
        status: Status = "FAIL" if needs_node else "OK"
        checks.append(Check("node", status, "not installed", _RUNTIMES["node"][1] if needs_node else None))
    return checks


# -- all of it


async def diagnose(
    path: Path,
    *,
    registry: str | None = None,
    run_verify: bool = True,
    timeout: float = 30.0,
    environ: Mapping[str, str] | None = None,
) -> list[Check]:
    environ = os.environ if environ is None else environ
    config, checks = load(path, environ)
    if config is not None:
        servers = config.enabled_servers()
        for server in servers:
            checks.append(await (command_check(server) if server.type == "stdio" else url_check(server)))
        checks.append(await port_check(config.gateway.http.host, config.gateway.http.port))
    checks.append(await registry_check(registry or (config.gateway.registry if config else None)))
    checks += await version_checks(config)
    if run_verify and config is not None and passed(checks):
        checks += await _verify_checks(config, str(path), registry, timeout)
    elif run_verify:
        checks.append(Check("verify", "WARN", "skipped: fix the problems above first", "then run `switchyard verify`"))
    return checks


async def _verify_checks(config: Config, path: str, registry: str | None, timeout: float) -> list[Check]:
    from switchyard.adoption.verify import verify

    report = await verify(config, config_file=path, registry=registry, timeout=timeout)
    checks = []
    for server in report.servers:
        if server.verdict in ("identical", "skipped"):
            checks.append(Check(f"verify {server.name}", "OK", server.detail()))
        else:
            checks.append(
                Check(f"verify {server.name}", "FAIL", server.detail(), "see `switchyard verify --server NAME`")
            )
    if advice := report.naming_advice():
        checks.append(Check("names", "WARN", f"{len(report.name_changes)} names change through the gateway", advice))
    return checks
