"""Switchyard's overhead against talking to the backend directly, measured in one run.

    .venv/bin/python benchmarks/overhead.py [--quick] [--json out.json]

Every figure is taken beside its baseline in the same run, with ONE client implementation for both sides: a
minimal raw JSON-RPC client (stdio: newline-delimited JSON over a subprocess pipe; HTTP: `httpx2` POSTs with
the session header, JSON responses), so the client's own cost cancels out. Latency samples of the direct and
gateway paths are taken in interleaved blocks, so background noise on the machine hits both alike.

Backends: the raw stdio fixture `tests/fixtures/servers/faulty.py` (stdlib only, starts in tens of ms) and,
for HTTP, `benchmarks/http_backend.py` (the SDK's low-level `Server` behind uvicorn), which offers the same
`echo` tool and generated tools; in the latency, tools/list and throughput phases every backend offers
100 generated tools besides its own. Direct and gateway runs share the HTTP backend. Each gateway runs
`switchyard serve` with a temp config (default `prefix` naming, so `echo` is `<server>__echo`), a temp
`--registry` and `--log-level warning`. Two relays stand in for the gateway as baselines: the floor
(`raw_relay.py`) and an SDK-only relay (`sdk_relay.py`). Every process this script starts is stopped by
its pid, and so is anything the gateway started that outlives it.

Measured: tools/call latency (stdio→stdio, HTTP→stdio, HTTP→HTTP), tools/list of 100+ tools, throughput with
1/4/16 concurrent clients, gateway CPU per call, gateway RSS with five backends, cold start. Targets from
the design are printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import orjson
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FAULTY = ROOT / "tests" / "fixtures" / "servers" / "faulty.py"
HTTP_BACKEND = ROOT / "benchmarks" / "http_backend.py"
SDK_RELAY = ROOT / "benchmarks" / "sdk_relay.py"
RAW_RELAY = ROOT / "benchmarks" / "raw_relay.py"
SWITCHYARD = Path(PYTHON).with_name("switchyard")
PROTOCOL_VERSION = "2025-11-25"
ECHO_ARGS = {"text": "hello, switchyard"}
MAX_LINE = 64 * 1024 * 1024
STOP_GRACE = 5.0
START_TIMEOUT = 60.0

Caller = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Settings:
    quick: bool
    calls: int  # timed sequential calls per path
    warmup: int  # untimed calls per path first
    block: int  # calls per interleaved block
    settle: float  # seconds after the last timed call before reading CPU (background work)
    list_calls: int  # timed tools/list per path
    tools: int  # generated tools on every backend of the latency/throughput phase (tools/list wants 100+)
    concurrency: tuple[int, ...]
    tput_window: float  # seconds per measurement window
    tput_warmup: float  # seconds before each window
    tput_rounds: int  # windows per system and concurrency
    cold_runs: int
    cold_reused: bool  # also time launches that reuse an existing registry
    sdk_calls: int

    @classmethod
    def make(cls, quick: bool) -> Settings:
        if quick:
            return cls(
                quick=True, calls=300, warmup=50, block=50, settle=0.6, list_calls=100, tools=100,
                concurrency=(1, 4, 16), tput_window=0.6, tput_warmup=0.15, tput_rounds=1, cold_runs=3,
                cold_reused=False, sdk_calls=100,
            )  # fmt: skip
        return cls(
            quick=False, calls=3000, warmup=300, block=100, settle=1.0, list_calls=500, tools=100,
            concurrency=(1, 4, 16), tput_window=1.5, tput_warmup=0.3, tput_rounds=3, cold_runs=5,
            cold_reused=True, sdk_calls=500,
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# processes


class Processes:
    """Starts processes and stops each by its pid (and any descendant that outlives it, by pid too)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._running: list[asyncio.subprocess.Process] = []
        self._counter = itertools.count(1)

    def log_path(self, label: str) -> Path:
        return self.workdir / f"{next(self._counter):03d}-{label}.log"

    async def spawn(self, argv: Sequence[str], label: str, *, pipes: bool) -> tuple[asyncio.subprocess.Process, Path]:
        """`pipes`: stdin/stdout are pipes (stdio MCP), else stdout joins the log file; stderr: the log."""
        log = self.log_path(label)
        with log.open("wb") as sink:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if pipes else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if pipes else sink,
                stderr=sink,
                limit=MAX_LINE,
            )
        self._running.append(proc)
        return proc, log

    async def stop(self, proc: asyncio.subprocess.Process) -> None:
        if proc not in self._running:
            return
        self._running.remove(proc)
        descendants: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            descendants = psutil.Process(proc.pid).children(recursive=True)
        if proc.returncode is None:
            if proc.stdin is not None and not proc.stdin.is_closing():
                proc.stdin.close()  # a stdio MCP server ends at EOF: the gentlest stop
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 2.0)
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), STOP_GRACE)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
        # psutil refuses to signal a pid that has been reused by another process, so this is safe.
        _, alive = psutil.wait_procs(descendants, timeout=2.0)
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(proc) for proc in list(self._running)))


def read_log_tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


async def wait_for_line(path: Path, pattern: str, proc: asyncio.subprocess.Process) -> re.Match[str]:
    """Poll a log file until a line matches (the process prints its address there)."""
    deadline = time.monotonic() + START_TIMEOUT
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            found = regex.search(await asyncio.to_thread(path.read_text, errors="replace"))
            if found:
                return found
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.02)
    raise RuntimeError(f"{path.name}: no line matching {pattern!r}\n{read_log_tail(path)}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of that process alone (children excluded)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def machine_busy_seconds() -> float:
    """CPU seconds every core has spent busy since boot."""
    times = psutil.cpu_times()
    return float(sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal")))


def own_tree_cpu_seconds() -> float:
    """CPU of this process and of every descendant reaped so far (all of them, once the run has ended)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


# ---------------------------------------------------------------------------------------------------------
# the one client implementation: raw JSON-RPC over stdio or Streamable HTTP


class RpcError(Exception):
    pass


class StdioClient:
    """Newline-delimited JSON-RPC over a subprocess's pipes; one request in flight at a time."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pid = proc.pid
        self._ids = itertools.count(1)
        assert proc.stdin is not None and proc.stdout is not None
        self._stdin = proc.stdin
        self._stdout = proc.stdout

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        request_id = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self._stdin.write(orjson.dumps(message) + b"\n")
        await self._stdin.drain()
        while True:
            line = await self._stdout.readline()
            if not line:
                raise RpcError(f"pid {self.pid} closed stdout during {method}")
            reply = orjson.loads(line)
            if reply.get("id") == request_id and "method" not in reply:
                return _result(reply, method)

    async def notify(self, method: str) -> None:
        self._stdin.write(orjson.dumps({"jsonrpc": "2.0", "method": method}) + b"\n")
        await self._stdin.drain()

    async def initialize(self) -> dict[str, Any]:
        result = await self.request("initialize", _initialize_params())
        await self.notify("notifications/initialized")
        return result


class HttpClient:
    """Streamable HTTP: one httpx2 connection and one MCP session per client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._ids = itertools.count(1)
        self._headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        self._http = httpx2.AsyncClient(
            timeout=httpx2.Timeout(60.0),
            limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1),
            trust_env=False,
        )

    async def _post(self, message: dict[str, Any]) -> httpx2.Response:
        response = await self._http.post(self.url, content=orjson.dumps(message), headers=self._headers)
        if response.status_code >= 400:
            raise RpcError(f"HTTP {response.status_code} from {self.url}: {response.text[:300]}")
        return response

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        request_id = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        response = await self._post(message)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for line in response.text.splitlines():
                if line.startswith("data:"):
                    reply = orjson.loads(line[5:])
                    if reply.get("id") == request_id and "method" not in reply:
                        return _result(reply, method)
            raise RpcError(f"no answer to {method} in the SSE stream")
        return _result(orjson.loads(response.content), method)

    async def initialize(self) -> dict[str, Any]:
        request = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": "initialize",
            "params": _initialize_params(),
        }
        response = await self._post(request)
        session = response.headers.get("mcp-session-id")
        if session is None:
            raise RpcError(f"{self.url} gave no mcp-session-id")
        self._headers["mcp-session-id"] = session
        self._headers["mcp-protocol-version"] = PROTOCOL_VERSION
        result = _result(orjson.loads(response.content), "initialize")
        await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    async def close(self) -> None:
        if "mcp-session-id" in self._headers:
            with contextlib.suppress(httpx2.HTTPError):
                await self._http.delete(self.url, headers=self._headers)
        await self._http.aclose()


def _initialize_params() -> dict[str, Any]:
    return {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "switchyard-overhead-bench", "version": "1"},
    }


def _result(reply: dict[str, Any], method: str) -> dict[str, Any]:
    if "error" in reply:
        raise RpcError(f"{method}: {reply['error']}")
    result = reply.get("result")
    return result if isinstance(result, dict) else {}


def echo_caller(client: StdioClient | HttpClient, tool: str) -> Caller:
    params = {"name": tool, "arguments": ECHO_ARGS}

    async def call() -> None:
        result = await client.request("tools/call", params)
        if result.get("isError"):
            raise RpcError(f"{tool}: tool error {result}")

    return call


def list_caller(client: StdioClient | HttpClient) -> Caller:
    async def call() -> None:
        await client.request("tools/list")

    return call


# ---------------------------------------------------------------------------------------------------------
# the systems under test


class Bench:
    """Owns the temp dir and every process; builds backends, gateways and clients."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs = Processes(workdir)
        self.http_clients: list[HttpClient] = []
        self._configs = itertools.count(1)

    async def close(self) -> None:
        for client in self.http_clients:
            with contextlib.suppress(Exception):
                await client.close()
        await self.procs.stop_all()

    @staticmethod
    def faulty_argv(tools: int = 0) -> list[str]:
        return [PYTHON, str(FAULTY), "--tools", str(tools)]

    async def stdio_server(self, argv: Sequence[str], label: str) -> StdioClient:
        proc, log = await self.procs.spawn(argv, label, pipes=True)
        client = StdioClient(proc)
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await client.initialize()
        except (TimeoutError, RpcError) as exc:
            raise RuntimeError(f"{label} did not initialize: {exc}\n{read_log_tail(log)}") from None
        return client

    async def http_backend(self, tools: int = 0) -> tuple[str, int]:
        argv = [PYTHON, str(HTTP_BACKEND), "--port", "0", "--tools", str(tools)]
        proc, log = await self.procs.spawn(argv, "http-backend", pipes=False)
        found = await wait_for_line(log, r"listening (http://\S+)", proc)
        return found.group(1), proc.pid

    def gateway_argv(self, servers: dict[str, dict[str, Any]], front: Sequence[str]) -> list[str]:
        """A temp YAML config and a fresh temp registry for one gateway run."""
        number = next(self._configs)
        config = self.workdir / f"gateway-{number}.yaml"
        config.write_text(yaml.safe_dump({"gateway": {"naming": "prefix"}, "mcpServers": servers}))
        registry = self.workdir / f"registry-{number}"
        registry.mkdir()
        return [
            str(SWITCHYARD),
            "serve",
            *front,
            "-c",
            str(config),
            "--registry",
            str(registry / "registry.db"),
            "--log-level",
            "warning",
        ]

    @staticmethod
    def stdio_entry(tools: int = 0) -> dict[str, Any]:
        return {"command": PYTHON, "args": [str(FAULTY), "--tools", str(tools)]}

    async def stdio_gateway(self, servers: dict[str, dict[str, Any]], label: str) -> StdioClient:
        return await self.stdio_server(self.gateway_argv(servers, ["--stdio"]), label)

    async def http_gateway(self, servers: dict[str, dict[str, Any]], label: str) -> tuple[str, int]:
        argv = self.gateway_argv(servers, ["--http", "127.0.0.1:0"])
        proc, log = await self.procs.spawn(argv, label, pipes=False)
        found = await wait_for_line(log, r"Streamable HTTP\s+(http://\S+/mcp)", proc)
        url = found.group(1)
        ready = url.removesuffix("/mcp") + "/readyz"
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx2.AsyncClient(trust_env=False) as http:
            while True:
                response = await http.get(ready)
                if response.status_code == 200 and response.json().get("status") == "up":
                    return url, proc.pid
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{label} not ready: {response.text}\n{read_log_tail(log)}")
                await asyncio.sleep(0.05)

    async def http_client(self, url: str) -> HttpClient:
        client = HttpClient(url)
        self.http_clients.append(client)
        await client.initialize()
        return client


# ---------------------------------------------------------------------------------------------------------
# measuring


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (q in 0..100)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Probe:
    """One way of reaching a tool, and the process whose CPU is charged to it (if any).

    `cpu_scope`: "run" charges the process's CPU from the first timed call until a settle period after the
    last (for a process that serves only this probe, so that work it does in the background because of
    the calls, like batched audit writes, counts); "blocks" only while this probe's blocks run (for a
    process shared with another probe).
    """

    name: str
    call: Caller
    cpu_pid: int | None = None
    cpu_scope: str = "run"
    samples_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0

    def stats(self) -> dict[str, float]:
        data = {
            "p50_ms": percentile(self.samples_ms, 50),
            "p95_ms": percentile(self.samples_ms, 95),
            "p99_ms": percentile(self.samples_ms, 99),
            "mean_ms": statistics.fmean(self.samples_ms),
            "calls": len(self.samples_ms),
        }
        if self.cpu_pid is not None:
            data["cpu_us_per_call"] = self.cpu_s / len(self.samples_ms) * 1e6
        return data


async def interleaved(probes: Sequence[Probe], calls: int, warmup: int, block: int, settle: float) -> None:
    """Sequential calls on every probe, in blocks whose order rotates, so drift affects all alike."""
    for probe in probes:
        for _ in range(warmup):
            await probe.call()
    run_scope = [p for p in probes if p.cpu_pid is not None and p.cpu_scope == "run"]
    started = {p.name: cpu_seconds(p.cpu_pid) for p in run_scope if p.cpu_pid is not None}
    clock = time.perf_counter_ns
    for index in range(max(1, calls // block)):
        shift = index % len(probes)
        for probe in [*probes[shift:], *probes[:shift]]:
            samples, call = probe.samples_ms, probe.call
            blocks_pid = probe.cpu_pid if probe.cpu_scope == "blocks" else None
            before = cpu_seconds(blocks_pid) if blocks_pid is not None else 0.0
            for _ in range(block):
                begin = clock()
                await call()
                samples.append((clock() - begin) / 1e6)
            if blocks_pid is not None:
                probe.cpu_s += cpu_seconds(blocks_pid) - before
    await asyncio.sleep(settle)
    for probe in run_scope:
        assert probe.cpu_pid is not None
        probe.cpu_s = cpu_seconds(probe.cpu_pid) - started[probe.name]


@dataclass
class Load:
    """Calls completed by k clients in measurement windows, summed over rounds."""

    calls: int = 0
    seconds: float = 0.0
    client_cpu_s: float = 0.0
    gateway_cpu_s: float = 0.0

    def summary(self, gateway: bool) -> dict[str, float]:
        data = {
            "calls_per_s": self.calls / self.seconds,
            "calls": self.calls,
            "seconds": self.seconds,
            "client_cpu_share": self.client_cpu_s / self.seconds,  # 1.0 = a whole core
        }
        if gateway and self.calls:
            data["gateway_cpu_us_per_call"] = self.gateway_cpu_s / self.calls * 1e6
            data["gateway_cpu_share"] = self.gateway_cpu_s / self.seconds
        return data


async def load_window(
    callers: Sequence[Caller], seconds: float, warmup: float, cpu_pid: int | None, into: Load
) -> None:
    """Each caller is one client making sequential calls; count the calls made wholly inside the window."""
    window_start = time.perf_counter() + warmup
    window_end = window_start + seconds
    completed = 0
    own = psutil.Process()

    def cpu() -> tuple[float, float]:
        times = own.cpu_times()
        return times.user + times.system, cpu_seconds(cpu_pid) if cpu_pid is not None else 0.0

    async def client(call: Caller) -> None:
        nonlocal completed
        while (begin := time.perf_counter()) < window_end:
            await call()
            if begin >= window_start and time.perf_counter() <= window_end:
                completed += 1

    async def meter() -> None:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        client_before, gateway_before = cpu()
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        client_after, gateway_after = cpu()
        into.client_cpu_s += client_after - client_before
        into.gateway_cpu_s += gateway_after - gateway_before

    async with asyncio.TaskGroup() as group:
        group.create_task(meter())
        for call in callers:
            group.create_task(client(call))
    into.calls += completed
    into.seconds += seconds


# ---------------------------------------------------------------------------------------------------------
# report

MARKERS = "¹²³⁴⁵⁶⁷⁸⁹"
LATENCY, BASELINES, LISTING, THROUGHPUT, CPU, MEMORY, COLD_START = range(7)


@dataclass
class Row:
    measurement: str
    unit: str
    direct: float | None
    gateway: float | None
    added: float | None = None
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""

    @classmethod
    def compare(
        cls,
        measurement: str,
        unit: str,
        direct: float,
        gateway: float,
        *,
        limit: float | None = None,
        target: str = "",
        note: str = "",
    ) -> Row:
        """Same quantity on both sides: the difference and the ratio; `limit` bounds the difference."""
        added = gateway - direct
        ratio = gateway / direct if direct else None
        ok = None if limit is None else added <= limit
        return cls(measurement, unit, direct, gateway, added, ratio, target, ok, note)

    @classmethod
    def scale(
        cls,
        measurement: str,
        unit: str,
        direct: float,
        gateway: float,
        *,
        ok: bool | None = None,
        target: str = "",
        note: str = "",
    ) -> Row:
        """A gateway figure beside a direct reference of another kind (for scale): the ratio only."""
        ratio = gateway / direct if direct else None
        return cls(measurement, unit, direct, gateway, None, ratio, target, ok, note)


@dataclass
class Report:
    settings: Settings
    sections: dict[int, list[Row]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def add(self, section: int, row: Row) -> None:
        self.sections.setdefault(section, []).append(row)

    def note(self, marker: str, text: str) -> str:
        self.notes[marker] = text
        return f" {marker}"

    @property
    def rows(self) -> list[Row]:
        return [row for section in sorted(self.sections) for row in self.sections[section]]

    def markdown(self) -> str:
        def number(value: float | None, unit: str, signed: bool = False) -> str:
            if value is None:
                return "—"
            digits = {"ms": 3, "s": 3, "µs/call": 0, "calls/s": 0, "MB": 1}.get(unit, 2)
            return f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"

        lines = [
            "| Measurement | Unit | Direct | Gateway | Added | Gateway/direct | Target | Verdict |",
            "|---|---|---:|---:|---:|---:|---|---|",
        ]
        for row in self.rows:
            verdict = {True: "ok", False: "**MISS**", None: ""}[row.ok]
            ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "—"
            lines.append(
                f"| {row.measurement}{row.note} | {row.unit} | {number(row.direct, row.unit)} | "
                f"{number(row.gateway, row.unit)} | {number(row.added, row.unit, signed=True)} | {ratio} | "
                f"{row.target} | {verdict} |"
            )
        out = ["\n".join(lines)]
        ordered = sorted(self.notes, key=lambda marker: MARKERS.index(marker) if marker in MARKERS else 99)
        if ordered:
            out.append("\n".join(f"{marker} {self.notes[marker]}" for marker in ordered))
        if self.skipped:
            out.append("\n".join(f"- skipped: {why}" for why in self.skipped))
        return "\n\n".join(out)

    def as_json(self) -> dict[str, Any]:
        return {
            "settings": asdict(self.settings),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "rows": [asdict(row) for row in self.rows],
            "details": self.details,
            "notes": self.notes,
            "skipped": self.skipped,
        }


def prose(text: str) -> str:
    """One paragraph from an indented multi-line string."""
    return " ".join(text.split())


def progress(message: str) -> None:
    print(f"[overhead {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# phases


@dataclass
class Core:
    """The processes shared by the latency, CPU and throughput phases."""

    http_url: str
    http_pid: int
    direct_stdio: list[StdioClient]
    gw_stdio: StdioClient
    gw_http_stdio: tuple[str, int]
    gw_http_http: tuple[str, int]
    baselines: dict[str, StdioClient]


async def start_core(bench: Bench, settings: Settings, report: Report) -> Core:
    """Everything starts at once: the launches are CPU-bound and there are two cores."""
    tools = settings.tools
    backend = asyncio.create_task(bench.http_backend(tools))

    async def gateway_to_http_backend() -> tuple[str, int]:
        url, _ = await backend
        return await bench.http_gateway({"h": {"type": "http", "url": url}}, "gateway-http-http")

    async def baseline(name: str, script: Path, wanted: bool = True) -> tuple[str, StdioClient | None]:
        if not wanted:
            report.skipped.append(f"{name} baseline: not run with --quick")
            return name, None
        try:
            client = await bench.stdio_server([PYTHON, str(script), "--", *bench.faulty_argv(tools)], name)
            await echo_caller(client, "echo")()
        except Exception as exc:
            report.skipped.append(f"{name} baseline: {type(exc).__name__}: {str(exc)[:200]}")
            return name, None
        return name, client

    direct = asyncio.gather(
        *(bench.stdio_server(bench.faulty_argv(tools), f"faulty-{i}") for i in range(max(settings.concurrency)))
    )
    gw_stdio, gw_http_stdio, gw_http_http, raw, sdk, direct_clients = await asyncio.gather(
        bench.stdio_gateway({"b": bench.stdio_entry(tools)}, "gateway-stdio-stdio"),
        bench.http_gateway({"b": bench.stdio_entry(tools)}, "gateway-http-stdio"),
        gateway_to_http_backend(),
        baseline("raw JSON relay", RAW_RELAY),
        baseline("SDK relay", SDK_RELAY, wanted=not settings.quick),
        direct,
    )
    http_url, http_pid = await backend
    baselines = {name: client for name, client in (raw, sdk) if client is not None}
    return Core(http_url, http_pid, direct_clients, gw_stdio, gw_http_stdio, gw_http_http, baselines)


async def phase_core(bench: Bench, settings: Settings, report: Report) -> None:
    """1 (latency), 3 (throughput), 4 (CPU per call), the baselines and the SDK client, on one process set."""
    progress("starting backends, gateways and baselines")
    core = await start_core(bench, settings, report)
    max_clients = max(settings.concurrency)
    direct_http = [await bench.http_client(core.http_url) for _ in range(max_clients)]
    via_http_stdio = [await bench.http_client(core.gw_http_stdio[0]) for _ in range(max_clients)]
    via_http_http = [await bench.http_client(core.gw_http_http[0]) for _ in range(max_clients)]

    probes = [
        Probe("direct stdio", echo_caller(core.direct_stdio[0], "echo"), core.direct_stdio[0].pid),
        Probe("gw stdio->stdio", echo_caller(core.gw_stdio, "b__echo"), core.gw_stdio.pid),
        Probe("gw http->stdio", echo_caller(via_http_stdio[0], "b__echo"), core.gw_http_stdio[1]),
        Probe("direct http", echo_caller(direct_http[0], "echo"), core.http_pid, "blocks"),
        Probe("gw http->http", echo_caller(via_http_http[0], "h__echo"), core.gw_http_http[1]),
    ]
    probes += [Probe(name, echo_caller(client, "echo"), client.pid) for name, client in core.baselines.items()]
    progress(f"latency: {settings.calls} sequential echo calls on each of {len(probes)} paths, interleaved")
    await interleaved(probes, settings.calls, settings.warmup, settings.block, settings.settle)
    stats = {probe.name: probe.stats() for probe in probes}
    report.details["latency"] = stats
    latency_rows(report, stats)

    await tools_list_comparison(core.direct_stdio[0], core.gw_stdio, settings, report)
    await sdk_client_comparison(settings, report, core.http_url, core.gw_http_http[0])
    cpu_rows(report, stats, settings.settle)
    report.details["rss_mb_one_backend"] = {
        "gw stdio->stdio": rss_mb(core.gw_stdio.pid),
        "gw http->stdio": rss_mb(core.gw_http_stdio[1]),
        "gw http->http": rss_mb(core.gw_http_http[1]),
        "faulty.py backend": rss_mb(core.direct_stdio[0].pid),
        "http_backend": rss_mb(core.http_pid),
    }

    systems: list[tuple[str, list[Caller], int | None]] = [
        ("direct stdio", [echo_caller(c, "echo") for c in core.direct_stdio], None),
        ("direct http", [echo_caller(c, "echo") for c in direct_http], None),
        ("gw http->stdio", [echo_caller(c, "b__echo") for c in via_http_stdio], core.gw_http_stdio[1]),
        ("gw http->http", [echo_caller(c, "h__echo") for c in via_http_http], core.gw_http_http[1]),
    ]
    loads: dict[str, dict[int, Load]] = {name: {k: Load() for k in settings.concurrency} for name, _, _ in systems}
    for k in settings.concurrency:
        progress(
            f"throughput: {k} concurrent client(s), {settings.tput_rounds} x {settings.tput_window:g} s per system"
        )
        for index in range(settings.tput_rounds):
            shift = index % len(systems)
            for name, callers, pid in [*systems[shift:], *systems[:shift]]:
                await load_window(callers[:k], settings.tput_window, settings.tput_warmup, pid, loads[name][k])
    tput = {
        name: {k: load.summary(name.startswith("gw")) for k, load in per_k.items()} for name, per_k in loads.items()
    }
    report.details["throughput"] = tput
    throughput_rows(report, settings, tput)


def latency_rows(report: Report, stats: dict[str, dict[str, float]]) -> None:
    d_stdio, d_http = stats["direct stdio"], stats["direct http"]
    http_stdio_note = report.note(
        "¹",
        prose("""Different transports on the two sides: the added time is the whole cost of the HTTP front
        (HTTP client and server work, plus the gateway) over a direct stdio pipe, not the gateway's relaying
        alone."""),
    )
    for pct in ("p50", "p95", "p99"):
        key, first = f"{pct}_ms", pct == "p50"
        report.add(
            LATENCY,
            Row.compare(
                f"tools/call {pct}, stdio→stdio",
                "ms",
                d_stdio[key],
                stats["gw stdio->stdio"][key],
                limit=1.0 if first else None,
                target="added ≤ 1 ms" if first else "",
            ),
        )
    for pct in ("p50", "p95", "p99"):
        key = f"{pct}_ms"
        report.add(
            LATENCY,
            Row.compare(
                f"tools/call {pct}, HTTP→stdio vs direct stdio",
                "ms",
                d_stdio[key],
                stats["gw http->stdio"][key],
                note=http_stdio_note if pct == "p50" else "",
            ),
        )
    for pct in ("p50", "p95", "p99"):
        key, first = f"{pct}_ms", pct == "p50"
        report.add(
            LATENCY,
            Row.compare(
                f"tools/call {pct}, HTTP→HTTP",
                "ms",
                d_http[key],
                stats["gw http->http"][key],
                limit=1.5 if first else None,
                target="added ≤ 1.5 ms" if first else "",
            ),
        )
    baselines = [name for name in ("raw JSON relay", "SDK relay") if name in stats]
    if not baselines:
        return
    marker = report.note(
        "²",
        prose("""Baselines in place of the gateway, same client and backend, interleaved with the rows above.
        Raw JSON relay (benchmarks/raw_relay.py): parse, remap the id, re-serialise with orjson, nothing else:
        the floor for a stdio relay in Python. SDK relay (benchmarks/sdk_relay.py): a low-level `Server`
        forwarding through one `mcp.Client`; mcp 2.3.0 has no FastMCP-style proxy (`as_proxy`)."""),
    )
    gateway_p50 = stats["gw stdio->stdio"]["p50_ms"]
    for name in baselines:
        report.add(
            BASELINES,
            Row.compare(
                f"baseline: {name} stdio→stdio, tools/call p50",
                "ms",
                d_stdio["p50_ms"],
                stats[name]["p50_ms"],
                note=marker,
            ),
        )
    floor = stats.get("raw JSON relay")
    if floor is not None:
        report.details["gateway_p50_over_raw_relay_ms"] = gateway_p50 - floor["p50_ms"]


def cpu_rows(report: Report, stats: dict[str, dict[str, float]], settle: float) -> None:
    marker = report.note(
        "⁵",
        "psutil user+sys CPU of that process alone (not its children) from the first timed call to "
        f"{settle:g} s after the last (so batched background work caused by the calls counts), ÷ calls. "
        "Direct = the backend's own CPU per call in the direct run (faulty.py; the SDK http_backend for "
        "HTTP→HTTP), for scale.",
    )
    for label, name, direct_name, limit in (
        ("stdio→stdio", "gw stdio->stdio", "direct stdio", 200.0),
        ("HTTP→stdio", "gw http->stdio", "direct stdio", None),
        ("HTTP→HTTP", "gw http->http", "direct http", None),
        ("baseline: raw JSON relay, stdio→stdio", "raw JSON relay", "direct stdio", None),
        ("baseline: SDK relay, stdio→stdio", "SDK relay", "direct stdio", None),
    ):
        if name not in stats:
            continue
        used = stats[name]["cpu_us_per_call"]
        report.add(
            CPU,
            Row.scale(
                f"CPU per call, {label}" if label.startswith("baseline") else f"gateway CPU per call, {label}",
                "µs/call",
                stats[direct_name]["cpu_us_per_call"],
                used,
                ok=None if limit is None else used <= limit,
                target="≤ 200 µs" if limit else "",
                note=marker,
            ),
        )


def throughput_rows(report: Report, settings: Settings, tput: dict[str, dict[int, dict[str, float]]]) -> None:
    busiest = max(v["client_cpu_share"] for per_k in tput.values() for v in per_k.values())
    marker = report.note(
        "⁴",
        prose(f"""k clients in this process, each with its own connection and session, making sequential echo
        calls; {settings.tput_rounds} window(s) of {settings.tput_window:g} s per system and k (after
        {settings.tput_warmup:g} s of warm-up each), systems rotated between rounds. Direct stdio = k separate
        faulty.py processes, one per client. HTTP→stdio = k HTTP sessions on ONE gateway, which relays them
        all over its ONE connection to one faulty.py. Direct HTTP = k sessions on the http_backend; HTTP→HTTP
        = k sessions on one gateway sharing its one upstream session to that same http_backend.
        {os.cpu_count()} cores for client, gateway and backends together; the client process used up to
        {busiest:.0%} of a core."""),
    )
    for gateway, direct, label in (
        ("gw http->stdio", "direct stdio", "HTTP→stdio vs direct stdio"),
        ("gw http->http", "direct http", "HTTP→HTTP vs direct HTTP"),
    ):
        for k in settings.concurrency:
            report.add(
                THROUGHPUT,
                Row.compare(
                    f"throughput, {k} client{'s' if k > 1 else ''}, {label}",
                    "calls/s",
                    tput[direct][k]["calls_per_s"],
                    tput[gateway][k]["calls_per_s"],
                    note=marker if k == settings.concurrency[0] else "",
                ),
            )


async def sdk_client_comparison(settings: Settings, report: Report, direct_url: str, gateway_url: str) -> None:
    """The SDK's own `mcp.Client` (models both ways), p50 over HTTP, direct vs HTTP→HTTP, interleaved."""
    progress(f"SDK mcp.Client: {settings.sdk_calls} calls per path")
    try:
        from mcp import Client

        async with (
            Client(direct_url, mode="legacy", cache=None) as direct,
            Client(gateway_url, mode="legacy", cache=None) as gateway,
        ):

            def caller(client: Client, tool: str) -> Caller:
                async def call() -> None:
                    await client.call_tool(tool, ECHO_ARGS)

                return call

            probes = [
                Probe("sdk direct http", caller(direct, "echo")),
                Probe("sdk gw http->http", caller(gateway, "h__echo")),
            ]
            await interleaved(probes, settings.sdk_calls, settings.warmup // 2, settings.block, 0.0)
    except Exception as exc:
        report.skipped.append(f"SDK mcp.Client comparison: {type(exc).__name__}: {str(exc)[:200]}")
        return
    direct_stats, gateway_stats = probes[0].stats(), probes[1].stats()
    report.details["sdk_client"] = {"direct http": direct_stats, "gw http->http": gateway_stats}
    marker = report.note(
        "³",
        "The same HTTP→HTTP paths measured with the SDK's `mcp.Client` (pydantic models both ways) instead "
        "of the raw client: the share of a typical Python client's latency that the gateway adds.",
    )
    report.add(
        BASELINES,
        Row.compare(
            "tools/call p50 with SDK mcp.Client, HTTP→HTTP",
            "ms",
            direct_stats["p50_ms"],
            gateway_stats["p50_ms"],
            note=marker,
        ),
    )


async def tools_list_comparison(direct: StdioClient, gateway: StdioClient, settings: Settings, report: Report) -> None:
    """2: tools/list of 100+ tools, stdio→stdio vs direct stdio."""
    progress(f"tools/list: {settings.list_calls} calls per path")
    counts = {
        "direct": len((await direct.request("tools/list"))["tools"]),
        "gateway": len((await gateway.request("tools/list"))["tools"]),
    }
    probes = [Probe("direct stdio", list_caller(direct)), Probe("gw stdio->stdio", list_caller(gateway))]
    await interleaved(probes, settings.list_calls, settings.warmup // 2, max(10, settings.block // 2), 0.0)
    direct_stats, gateway_stats = probes[0].stats(), probes[1].stats()
    report.details["tools_list"] = {"tools": counts, "direct stdio": direct_stats, "gw stdio->stdio": gateway_stats}
    report.add(
        LISTING,
        Row.compare(
            f"tools/list p50 ({counts['gateway']} tools), stdio→stdio",
            "ms",
            direct_stats["p50_ms"],
            gateway_stats["p50_ms"],
            limit=1.0,
            target="≤ direct + 1 ms",
        ),
    )


async def phase_rss(bench: Bench, report: Report) -> None:
    """5: RSS of the gateway process alone with five faulty.py backends, after a tools/list."""
    progress("RSS: gateway with five backends")
    servers = {f"b{i}": bench.stdio_entry() for i in range(1, 6)}
    gateway = await bench.stdio_gateway(servers, "gateway-rss")
    tools = (await gateway.request("tools/list"))["tools"]
    await asyncio.sleep(0.6)  # the registry writes discovered definitions in the background
    process = psutil.Process(gateway.pid)
    memory = process.memory_full_info()
    backends = [child.memory_info().rss / 2**20 for child in process.children()]
    gateway_mb, uss_mb = memory.rss / 2**20, memory.uss / 2**20
    report.details["rss"] = {
        "gateway_rss_mb": gateway_mb,
        "gateway_uss_mb": uss_mb,
        "tools_listed": len(tools),
        "backend_rss_mb": backends,
    }
    marker = report.note(
        "⁶",
        "psutil RSS of the gateway process alone; direct = the mean RSS of its five faulty.py backends (each "
        f"a bare Python process), for scale. Gateway USS: {uss_mb:.1f} MB.",
    )
    report.add(
        MEMORY,
        Row.scale(
            f"gateway RSS, 5 backends, after tools/list ({len(tools)} tools)",
            "MB",
            statistics.fmean(backends) if backends else float("nan"),
            gateway_mb,
            ok=gateway_mb < 100,
            target="< 100 MB",
            note=marker,
        ),
    )
    await bench.procs.stop(gateway.proc)


async def cold_start_once(bench: Bench, argv: Sequence[str], label: str, tool: str) -> float:
    """Launch to the first tools/list answer that names `tool`."""
    start = time.perf_counter()
    client = await bench.stdio_server(argv, label)
    while True:
        tools = (await client.request("tools/list"))["tools"]
        if any(t.get("name") == tool for t in tools):
            break
        if time.perf_counter() - start > START_TIMEOUT:
            raise RuntimeError(f"{label}: {tool} never listed")
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - start
    await bench.procs.stop(client.proc)
    return elapsed


async def phase_cold_start(bench: Bench, settings: Settings, report: Report) -> None:
    """6: launch → first tools/list answered, gateway (stdio front, one backend) minus the backend alone."""
    progress(f"cold start: {settings.cold_runs} launches each")
    runs: dict[str, list[float]] = {"direct": [], "new registry": [], "existing registry": []}
    kept_argv = bench.gateway_argv({"b": bench.stdio_entry()}, ["--stdio"])
    if settings.cold_reused:
        await cold_start_once(bench, kept_argv, "gateway-cold-first", "b__echo")  # creates that registry
    for _ in range(settings.cold_runs):
        runs["direct"].append(await cold_start_once(bench, bench.faulty_argv(), "faulty-cold", "echo"))
        argv = bench.gateway_argv({"b": bench.stdio_entry()}, ["--stdio"])
        runs["new registry"].append(await cold_start_once(bench, argv, "gateway-cold", "b__echo"))
        if settings.cold_reused:
            runs["existing registry"].append(await cold_start_once(bench, kept_argv, "gateway-cold-again", "b__echo"))
    report.details["cold_start_s"] = runs
    marker = report.note(
        "⁷",
        f"Median of {settings.cold_runs} launches each (spawn, initialize, tools/list until echo is listed), "
        "launches alternating, files in the page cache. New registry: a fresh --registry path per launch "
        "(the schema is created); existing registry: reusing one an earlier launch created.",
    )
    base = statistics.median(runs["direct"])
    for label in ("new registry", "existing registry"):
        if runs[label]:
            report.add(
                COLD_START,
                Row.compare(
                    f"cold start to first tools/list, stdio→stdio, {label}",
                    "s",
                    base,
                    statistics.median(runs[label]),
                    limit=0.7,
                    target="added < 0.7 s",
                    note=marker,
                ),
            )


async def run(settings: Settings, report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="switchyard-overhead-") as tmp:
        bench = Bench(Path(tmp) / "core")
        try:
            bench.workdir.mkdir()
            await phase_core(bench, settings, report)
            await bench.close()  # free the cores before the next phases
            bench = Bench(Path(tmp) / "single")
            bench.workdir.mkdir()
            await phase_rss(bench, report)
            await phase_cold_start(bench, settings, report)
        finally:
            await bench.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Switchyard's overhead against direct backends, in one run.")
    parser.add_argument("--quick", action="store_true", help="fewer calls and shorter windows (under a minute)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if not SWITCHYARD.exists():
        parser.error(f"{SWITCHYARD} not found: run with the Python of the venv where switchyard is installed")
    settings = Settings.make(args.quick)
    report = Report(settings)
    load_before = os.getloadavg()
    machine_before, ours_before = machine_busy_seconds(), own_tree_cpu_seconds()
    started = time.perf_counter()
    asyncio.run(run(settings, report))
    wall = time.perf_counter() - started
    load_after = os.getloadavg()
    others = (machine_busy_seconds() - machine_before - (own_tree_cpu_seconds() - ours_before)) / wall
    report.details.update(
        wall_s=wall, loadavg_before=load_before, loadavg_after=load_after, other_processes_cores=others
    )
    mode = "quick" if settings.quick else "full"
    print(
        f"## Switchyard overhead vs direct ({mode} mode, {wall:.0f} s)\n\n"
        f"{os.cpu_count()} cores, Python {platform.python_version()}; 1-min load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; processes other than this benchmark's used "
        f"{max(others, 0.0):.2f} cores on average meanwhile (noise in both columns). "
        f"Latency: {settings.calls} sequential tools/call (echo) per path after {settings.warmup} warm-up "
        f"calls, in interleaved blocks of {settings.block}. Gateways use the default `prefix` naming.\n"
    )
    print(report.markdown())
    if args.json:
        args.json.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
