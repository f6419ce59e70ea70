"""`switchyard verify`: every configured server, started directly and through the gateway, compared.

The direct side runs first for all servers and is closed before the gateway starts, so that no server ever
runs twice at once (a server that binds a port or locks a file would otherwise fail through no fault of the
gateway). The gateway side is `switchyard serve --stdio` with the same config and registry: exactly what a
client runs once `switchyard connect` has pointed it at the gateway, so the CLI start-up, config loading in a
fresh process, the registry merge and the stdio front are all part of what is verified. One setting differs:
the gateway runs with `search.mode: all`, since the point is to compare every tool, not the search meta-tools
that stand in for them when the catalogue is large (see `gateway_config_file`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio

from switchyard import config as config_file_format
from switchyard import naming
from switchyard.adoption import probe
from switchyard.adoption.compare import field_differences, result_difference
from switchyard.adoption.probe import Definition, HarmlessCall, Snapshot, StartupError
from switchyard.config import Config, ServerConfig
from switchyard.pipeline.allowlist import Allowlist
from switchyard.search.metatools import metatool_definitions

Verdict = Literal["identical", "differs", "failed to start", "skipped"]
# How long the gateway may take beyond the servers' own start: it waits up to 30 s for backends still starting.
GATEWAY_GRACE = 35.0


@dataclass(frozen=True, slots=True)
class NameChange:
    server: str
    kind: str  # "tool" or "prompt"
    original: str
    public: str


@dataclass(slots=True)
class CallOutcome:
    tool: str
    arguments: dict[str, Any]
    difference: str | None = None  # None: the same modulo volatile content

    def summary(self) -> str:
        return f"{self.tool}: " + ("same" if self.difference is None else "differs")


@dataclass(slots=True)
class ServerReport:
    name: str
    verdict: Verdict = "identical"
    reason: str | None = None  # why it failed to start or was skipped
    differences: list[str] = field(default_factory=list)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (direct, through the gateway)
    hidden_by_policy: list[str] = field(default_factory=list)  # "tool x" / "prompt y" / "resource z"
    call: CallOutcome | None = None

    def detail(self) -> str:
        if self.verdict == "identical":
            return "identical"
        if self.verdict == "differs":
            return "differs: " + "; ".join(self.differences)
        return f"{self.verdict}: {self.reason}"


@dataclass(slots=True)
class VerifyReport:
    servers: list[ServerReport]
    naming_mode: str
    name_changes: list[NameChange]
    auto_collisions: list[naming.Collision]  # names that would still be prefixed under `naming: auto`

    def passed(self, *, strict_names: bool = False) -> bool:
        if strict_names and self.name_changes:
            return False
        return all(s.verdict in ("identical", "skipped") for s in self.servers)

    def naming_advice(self) -> str | None:
        clashes = ", ".join(f"{c.name} ({' and '.join(c.servers)})" for c in self.auto_collisions)
        if clashes and self.naming_mode == "none":
            return (
                f"under gateway.naming: none only the first server keeps a name that several offer: {clashes}; "
                "gateway.naming: auto keeps the others reachable under their prefix"
            )
        if not self.name_changes:
            return None
        if clashes:
            return f"gateway.naming: auto would still prefix names that several servers offer: {clashes}"
        if self.naming_mode != "auto":
            return "set gateway.naming: auto to keep every original name (no two servers offer the same name)"
        return None


@dataclass(slots=True)
class _Direct:
    snapshot: Snapshot | None = None
    error: str | None = None
    call: HarmlessCall | None = None
    call_result: Definition | None = None


_KINDS = (("tools", "tool", "name"), ("prompts", "prompt", "name"), ("resources", "resource", "uri"))
_TEMPLATES = ("templates", "resource template", "uriTemplate")


async def verify(
    config: Config,
    *,
    config_file: str,
    registry: str | None = None,
    only: Sequence[str] = (),
    timeout: float = 30.0,
) -> VerifyReport:
    """Compare each enabled server (or those in `only`) directly and through `switchyard serve --stdio`."""
    enabled = config.enabled_servers()
    chosen = [s for s in enabled if not only or s.name in only]
    reports = {s.name: ServerReport(s.name) for s in config.servers.values() if not only or s.name in only}
    for server in config.servers.values():
        if server.disabled and server.name in reports:
            reports[server.name].verdict, reports[server.name].reason = "skipped", "disabled in the config"

    allowlist = Allowlist(config.policies)
    direct: dict[str, _Direct] = {s.name: _Direct() for s in chosen}
    async with anyio.create_task_group() as tasks:
        for server in chosen:
            tasks.start_soon(_probe_direct, server, timeout, direct[server.name], allowlist)

    # Public names as the gateway assigns them, from what every enabled server lists (auto naming depends on
    # which names collide across all of them, not only the servers verified).
    listings = {name: d.snapshot for name, d in direct.items() if d.snapshot is not None}
    if len(chosen) < len(enabled):
        listings = await _listings_of([s for s in enabled if s not in chosen], timeout, allowlist) | listings
    ordered = [s for s in enabled if s.name in listings]
    public, _ = _assign(config, ordered, listings, config.gateway.naming)
    _, auto_collisions = _assign(config, ordered, listings, "auto")

    through: Snapshot | None = None
    gateway_error: str | None = None
    calls = {name: d.call for name, d in direct.items() if d.call is not None}
    call_results: dict[str, Definition] = {}
    if listings:
        try:
            with gateway_config_file(config, config_file) as served:
                through, call_results = await _through_gateway(
                    probe.gateway_argv(served, registry), timeout, calls, public
                )
        except StartupError as exc:
            gateway_error = str(exc)
        except Exception as exc:  # it started, then stopped answering
            gateway_error = f"the gateway stopped answering ({probe.reason(exc)})"

    changes: list[NameChange] = []
    for server in chosen:
        report, seen = reports[server.name], direct[server.name]
        if seen.snapshot is None:
            report.verdict, report.reason = "failed to start", seen.error
            continue
        if through is None:
            report.verdict, report.reason = "failed to start", f"through the gateway: {gateway_error}"
            continue
        _compare(report, server.name, seen.snapshot, through, public, allowlist)
        if seen.call is not None and seen.call_result is not None and server.name in call_results:
            report.call = CallOutcome(
                seen.call.tool, seen.call.arguments, result_difference(seen.call_result, call_results[server.name])
            )
            if report.call.difference is not None:
                report.differences.append(f"call {seen.call.tool} result differs at {report.call.difference}")
        if report.differences:
            report.verdict = "differs"
        changes += _name_changes(server.name, seen.snapshot, public)
    return VerifyReport(list(reports.values()), config.gateway.naming, changes, auto_collisions)


async def _through_gateway(
    argv: list[str], timeout: float, calls: dict[str, HarmlessCall], public: dict[tuple[str, str, str], str]
) -> tuple[Snapshot, dict[str, Definition]]:
    results: dict[str, Definition] = {}
    async with probe.connect_gateway(argv, timeout + GATEWAY_GRACE) as client:
        through = await probe.snapshot(client)
        for server, harmless in calls.items():
            name = public.get(("tools", server, harmless.tool))
            if name is not None and any(tool["name"] == name for tool in through.tools):
                results[server] = await probe.call(client, name, harmless.arguments)
    return through, results


@contextmanager
def gateway_config_file(config: Config, path: str) -> Iterator[str]:
    """The config file the gateway is started with: `path` itself, or, when its search mode may list meta-tools
    instead of the tools, a private temporary copy of the file as written (`${VAR}` references unexpanded,
    relative envFile paths made absolute) with `search.mode: all`."""
    if config.search.mode == "all":
        yield path
        return
    text = Path(path).read_text(encoding="utf-8-sig")
    document = dict(config_file_format.read_document(text, path) or {})
    base = Path(path).parent
    for key in ("mcpServers", "servers"):
        entries = document.get(key)
        for entry in entries.values() if isinstance(entries, dict) else ():
            if isinstance(entry, dict) and isinstance(entry.get("envFile"), str):
                entry["envFile"] = str(base / Path(entry["envFile"]).expanduser())
    document["search"] = {**(document.get("search") or {}), "mode": "all"}
    with tempfile.TemporaryDirectory(prefix="switchyard-verify-") as private:
        copy = Path(private) / "switchyard.json"
        copy.write_text(json.dumps(document), encoding="utf-8")
        yield str(copy)


async def _probe_direct(server: ServerConfig, timeout: float, into: _Direct, allowlist: Allowlist) -> None:
    try:
        with anyio.fail_after(timeout * 3):  # the handshake, the listings and the call each get `timeout`
            async with probe.connect_direct(server, timeout) as client:
                into.snapshot = await probe.snapshot(client)
                allowed = [t for t in into.snapshot.tools if allowlist.visible(server.name, t["name"])]
                into.call = probe.harmless_call(allowed)
                if into.call is not None:
                    into.call_result = await probe.call(client, into.call.tool, into.call.arguments)
    except TimeoutError:
        into.snapshot, into.error = None, f"no complete answer within {timeout * 3:g}s (see --timeout)"
    except StartupError as exc:
        into.error = str(exc)
    except Exception as exc:  # started, then failed to list: the server does not work directly either
        into.error = f"started but could not list what it offers ({probe.reason(exc)})"


async def _listings_of(servers: Sequence[ServerConfig], timeout: float, allowlist: Allowlist) -> dict[str, Snapshot]:
    found = {s.name: _Direct() for s in servers}
    async with anyio.create_task_group() as tasks:
        for server in servers:
            tasks.start_soon(_probe_direct, server, timeout, found[server.name], allowlist)
    return {name: d.snapshot for name, d in found.items() if d.snapshot is not None}


def _assign(
    config: Config, servers: Sequence[ServerConfig], listings: dict[str, Snapshot], mode: naming.NamingMode
) -> tuple[dict[tuple[str, str, str], str], list[naming.Collision]]:
    settings = config.gateway
    reserved = frozenset(d["name"] for d in metatool_definitions(config.search))  # the gateway's own tools
    names: dict[tuple[str, str, str], str] = {}
    collisions: list[naming.Collision] = []
    for kind in ("tools", "prompts"):
        requests = [
            naming.NameRequest(s.name, s.namespace, d["name"]) for s in servers for d in getattr(listings[s.name], kind)
        ]
        assigned, found = naming.assign(
            requests,
            mode=mode,
            separator=settings.separator,
            max_length=settings.max_name_length,
            reserved=reserved if kind == "tools" else frozenset(),
        )
        names.update({(kind, server, original): public for (server, original), public in assigned.items()})
        collisions += found
    return names, collisions


def _compare(
    report: ServerReport,
    server: str,
    direct: Snapshot,
    through: Snapshot,
    public: dict[tuple[str, str, str], str],
    allowlist: Allowlist,
) -> None:
    absent_everywhere = True  # nothing of this server listed, and not for lack of a name: it is not up there
    for attribute, kind, identity in (*_KINDS, _TEMPLATES):
        theirs = {d[identity]: d for d in getattr(through, attribute) if isinstance(d.get(identity), str)}
        missing: list[str] = []
        unnamed: list[str] = []  # names the naming policy gave to another server (`naming: none`)
        seen = 0
        expected = 0
        for definition in getattr(direct, attribute):
            original = definition[identity]
            name = public.get((attribute, server, original)) if identity == "name" else original
            tool = original if attribute == "tools" else None
            if not allowlist.visible(server, tool, name if tool else None):
                report.hidden_by_policy.append(f"{kind} {original}")
                continue
            expected += 1
            mine = theirs.get(name) if name is not None else None
            if mine is None:
                (missing if name is not None else unnamed).append(original)
                continue
            seen += 1
            for what in field_differences(definition, mine, identity):
                report.differences.append(f"{kind} {original} {what} differs")
        if unnamed:
            report.differences.append(
                f"{_count(unnamed, kind)} unreachable, the name taken by another server: {', '.join(unnamed)}"
            )
        if missing:
            report.differences.append(f"{_count(missing, kind)} missing through the gateway: {', '.join(missing)}")
        absent_everywhere = absent_everywhere and not seen and not unnamed
        report.counts[attribute] = (expected, seen)
    expected_total = sum(direct_count for direct_count, _ in report.counts.values())
    if absent_everywhere and expected_total:
        report.differences = [
            f"none of its {expected_total} items are listed through the gateway (it did not start there)"
        ]


def _count(items: list[str], kind: str) -> str:
    return f"{len(items)} {kind}{'s' if len(items) > 1 else ''}"


def _name_changes(server: str, direct: Snapshot, public: dict[tuple[str, str, str], str]) -> list[NameChange]:
    changes = []
    for attribute, kind in (("tools", "tool"), ("prompts", "prompt")):
        for definition in getattr(direct, attribute):
            name = public.get((attribute, server, definition["name"]))
            if name is not None and name != definition["name"]:
                changes.append(NameChange(server, kind, definition["name"], name))
    return changes
