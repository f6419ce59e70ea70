"""The five invariants of ../shared/security/README.md, checked around every case (see conftest.py `case`).

INV-1 gateway alive, INV-2 bob's canary session unaffected, INV-3 no canary secret anywhere observable,
INV-4 no leaked processes or resources, INV-5 the case's audit records well-formed and complete.
"""

from __future__ import annotations

import collections
import getpass
import json
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import psutil

from tests.security.world import (
    CANARY_OWNERS,
    EVIL,
    HEALTH_PATH,
    METRICS_PATH,
    STDIO_ROLES,
    Peer,
    World,
    find_canaries,
    new_nonce,
    tool_text,
)

CANARY_INTERVAL = 0.2
LATENCY_FACTOR = 5.0
# seconds: bob's baseline is a few ms, and two cores shared by the attacker, the whole test run and this harness
# (bob's loop is a thread beside the case's own work) jitter far more than 5x that; a 1 s bound still catches a
# gateway that stalls other sessions while it digests an attack (INV-2 is a fairness check, not a speed target).
LATENCY_FLOOR = 0.2
FD_SLACK = 16
RSS_SLACK = 64 * 1024 * 1024
SETTLE = 5.0
AUDIT_FIELDS = ("ts", "request_id", "principal", "transport", "method", "decision", "reason")
# The world's principals, the gateway's own, and the operator running `switchyard keys|pins` (audited as cli:USER).
KNOWN_PRINCIPALS = {
    "alice",
    "bob",
    "carol",
    "admin",
    "anonymous",
    "local",
    "stdio",
    "gateway",
    f"cli:{getpass.getuser()}",
}
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]")


class Canary:
    """INV-2: bob calls echo__echo with a fresh nonce every 200 ms; every reply must be his own."""

    def __init__(self, world: World, peer: Peer) -> None:
        self.world = world
        self.peer = peer
        self.latencies: list[float] = []
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def baseline(self, samples: int = 15) -> float:
        """bob's p95 latency with nothing else going on."""
        latencies = [self.one() for _ in range(samples)]
        self.problems.clear()
        return _p95(latencies)

    def fence(self) -> int:
        """One more call after the case; returns its request id (its audit record marks the end of the case)."""
        request_id = self.peer._ids + 1
        self.latencies.append(self.one())
        return request_id

    def one(self) -> float:
        nonce = new_nonce()
        request_id = self.peer.next_id()
        body = {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": "echo__echo", "arguments": {"text": nonce}},
        }
        started = time.perf_counter()
        try:
            reply = self.peer.post(body, timeout=10)
        except httpx2.HTTPError as exc:
            self.problems.append(f"bob's call failed: {exc!r}")
            return time.perf_counter() - started
        elapsed = time.perf_counter() - started
        if reply.status != 200:
            self.problems.append(f"bob got HTTP {reply.status}: {reply.text[:200]}")
            return elapsed
        for message in reply.messages:
            if not isinstance(message, dict) or message.get("id") != request_id:
                self.problems.append(f"bob received a message that is not his: {json.dumps(message)[:200]}")
        try:
            mine = reply.message
            if "result" not in mine or tool_text(mine) != nonce:
                self.problems.append(f"bob's echo came back wrong: {json.dumps(mine)[:200]}")
        except AssertionError as exc:
            self.problems.append(str(exc))
        return elapsed

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.latencies.append(self.one())
            self._stop.wait(CANARY_INTERVAL)

    def start(self) -> None:
        self.latencies.clear()
        self.problems.clear()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="bob-canary")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)


@dataclass
class Baseline:
    pid: int
    audit_id: int
    fds: int
    rss: int
    stdout_at: int
    stderr_at: int
    transcript_at: int
    records_at: dict[str, int]


@dataclass
class Expectations:
    """What a case declares: the refusals it causes (audit reason -> count) and extra text to scan."""

    refusals: collections.Counter[frozenset[str]] = field(default_factory=collections.Counter)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (where, text) for INV-3
    files: list[Path] = field(default_factory=list)
    any_refusals: set[str] = field(default_factory=set)  # reasons whose count the case cannot know
    bob_loaded: bool = False  # bob takes part in the case: his latency is not a bystander's
    anything: bool = False  # a fuzzer: any refusal reason may occur


def record_baseline(world: World) -> Baseline:
    gateway = world.gateway_process()
    return Baseline(
        pid=gateway.pid,
        audit_id=max(world.last_audit_id(), world.audit_mark),
        fds=_fds(gateway),
        rss=gateway.memory_info().rss,
        stdout_at=_size(world.stdout_path),
        stderr_at=_size(world.stderr_path),
        transcript_at=len(world.transcript),
        records_at={path.stem: _size(path) for path in (world.root / "records").glob("*.jsonl")},
    )


def check_alive(world: World, base: Baseline) -> list[str]:
    """INV-1."""
    assert world.proc is not None
    if world.proc.poll() is not None:
        return [f"INV-1: the gateway exited with status {world.proc.returncode}"]
    if world.proc.pid != base.pid:
        return ["INV-1: the gateway pid changed"]
    try:
        health = httpx2.get(world.base_url + HEALTH_PATH, timeout=2)
    except httpx2.HTTPError as exc:
        return [f"INV-1: /healthz did not answer in 2 s: {exc!r}"]
    return [] if health.status_code == 200 else [f"INV-1: /healthz answered {health.status_code}"]


def check_canary(canary: Canary, baseline_p95: float, *, latency: bool = True) -> list[str]:
    """INV-2."""
    problems = [f"INV-2: {problem}" for problem in canary.problems[:5]]
    if latency and canary.latencies:
        p95 = _p95(canary.latencies)
        limit = LATENCY_FACTOR * max(baseline_p95, LATENCY_FLOOR)
        if p95 > limit:
            problems.append(f"INV-2: bob's p95 latency {p95 * 1000:.0f} ms > {limit * 1000:.0f} ms")
    return problems


def check_secrets(world: World, base: Baseline, expectations: Expectations) -> list[str]:
    """INV-3: stdout/stderr, responses, audit, /metrics, backend inbound traffic, and texts the case adds."""
    canaries = world.canaries()
    sources: list[tuple[str, str]] = [
        ("gateway stdout", _tail(world.stdout_path, base.stdout_at)),
        ("gateway stderr", _tail(world.stderr_path, base.stderr_at)),
        ("HTTP responses", "\n".join(world.transcript[base.transcript_at :])),
        ("audit store", json.dumps(world.audit_rows(base.audit_id), default=str)),
        *expectations.texts,
        *((str(path), path.read_text(errors="replace")) for path in expectations.files if path.exists()),
    ]
    with_admin = world.peers["admin"].client
    try:
        metrics = with_admin.get(METRICS_PATH, headers={"Authorization": f"Bearer {world.keys['admin']}"}, timeout=5)
        if metrics.status_code == 200:
            sources.append(("/metrics", metrics.text))
    except httpx2.HTTPError:
        pass
    problems = []
    for where, text in sources:
        leaked = find_canaries(text, canaries)
        if leaked:
            problems.append(f"INV-3: {', '.join(leaked)} in {where}")
    for path in (world.root / "records").glob("*.jsonl"):
        server = path.stem
        entries = _tail(path, base.records_at.get(server, 0))
        allowed = {secret for secret, owners in CANARY_OWNERS.items() if server in owners}
        leaked = [secret for secret in find_canaries(entries, canaries) if secret not in allowed]
        if leaked:
            problems.append(f"INV-3: {', '.join(leaked)} reached backend {server}")
    return problems


def check_resources(world: World, base: Baseline) -> list[str]:
    """INV-4, polled for up to 5 s: children are configured backends, no zombies, fds and RSS bounded."""
    deadline = time.monotonic() + SETTLE
    while True:
        problems = _resource_problems(world, base)
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(0.25)


def _resource_problems(world: World, base: Baseline) -> list[str]:
    try:
        gateway = world.gateway_process()
        children = gateway.children(recursive=True)
    except psutil.Error as exc:
        return [f"INV-4: cannot inspect the gateway: {exc!r}"]
    problems = []
    roles: collections.Counter[str] = collections.Counter()
    for child in children:
        try:
            status, cmdline = child.status(), child.cmdline()
        except psutil.Error:
            continue
        if status == psutil.STATUS_ZOMBIE:
            problems.append(f"INV-4: zombie child {child.pid}")
            continue
        role = _role(cmdline)
        if role is None:
            problems.append(f"INV-4: unexpected child {child.pid}: {' '.join(cmdline)[:200]}")
        else:
            roles[role] += 1
    problems += [f"INV-4: {count} processes of backend {role}" for role, count in roles.items() if count > 1]
    fds = _fds(gateway)
    if fds > base.fds + FD_SLACK:
        problems.append(f"INV-4: gateway fds {fds} > baseline {base.fds} + {FD_SLACK}")
    rss = gateway.memory_info().rss
    if rss > base.rss + RSS_SLACK:
        problems.append(f"INV-4: gateway RSS grew by {(rss - base.rss) >> 20} MiB")
    return problems


def check_audit(world: World, base: Baseline, expectations: Expectations, fence: int) -> list[str]:
    """INV-5: the records the case wrote parse, carry the required fields, hold no raw control characters,
    and the refusals among them are exactly the ones the case declared."""
    deadline = time.monotonic() + 3.0
    while True:
        rows = world.audit_rows(base.audit_id)
        refusals = _refusals(rows)
        # bob's fence call was the last request: once its record is in, so is every record the case caused.
        fenced = any(row["principal"] == "bob" and row["request_id"] == str(fence) for row in rows)
        if fenced and all(_count(refusals, group) >= count for group, count in expectations.refusals.items()):
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    rows = world.audit_rows(base.audit_id)
    world.audit_mark = max([base.audit_id, *(int(row["id"]) for row in rows)])
    problems = []
    for row in rows:
        missing = [name for name in AUDIT_FIELDS if row.get(name) in (None, "") and name != "reason"]
        if missing == ["request_id"] and (
            row["decision"] == "reject"
            or row["transport"] in ("internal", "cli", "admin")
            or row["method"].startswith("session/")
        ):
            missing = []  # refused before a JSON-RPC id was read, a session event, the gateway's own, or an admin's
        if missing:
            problems.append(f"INV-5: record {row['id']} lacks {missing}")
        if row["principal"] not in KNOWN_PRINCIPALS:
            problems.append(f"INV-5: record {row['id']} has an unknown principal {row['principal']!r}")
        for name, value in row.items():
            if isinstance(value, str) and CONTROL_CHARS.search(value):
                problems.append(f"INV-5: record {row['id']} field {name} holds a raw control character")
    refusals = _refusals(rows)
    for group, count in expectations.refusals.items():
        if _count(refusals, group) != count:
            found = {reason: refusals[reason] for reason in group if refusals[reason]}
            problems.append(f"INV-5: {count} record(s) with reason in {sorted(group)} expected, found {found}")
    explained = set().union(*expectations.refusals, expectations.any_refusals)
    unexplained = {reason: n for reason, n in refusals.items() if reason not in explained and not expectations.anything}
    if unexplained:
        problems.append(f"INV-5: unexplained refusal records: {unexplained}")
    return problems


def _refusals(rows: list[dict[str, Any]]) -> collections.Counter[str]:
    return collections.Counter(str(row["reason"]) for row in rows if row["decision"] != "allow")


def _count(refusals: collections.Counter[str], group: frozenset[str]) -> int:
    return sum(refusals[reason] for reason in group)


def _role(cmdline: list[str]) -> str | None:
    if str(EVIL) in cmdline and "--role" in cmdline:
        role = cmdline[cmdline.index("--role") + 1]
        return role if role in STDIO_ROLES and role != "secret_srv" else None
    return None


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20)[-1]


def _fds(process: psutil.Process) -> int:
    try:
        return process.num_fds()
    except psutil.Error:
        return 0


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _tail(path: Path, offset: int) -> str:
    if not path.exists():
        return ""
    with open(path, "rb") as source:
        source.seek(offset)
        return source.read().decode("utf-8", "replace")


def describe(problems: list[str]) -> str:
    return "invariants broken:\n  " + "\n  ".join(problems)


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
