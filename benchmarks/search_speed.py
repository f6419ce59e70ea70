"""Tool-search speed and size: a 10,000-tool catalogue in process, and the meta-tool's round trip over MCP.

    .venv/bin/python benchmarks/search_speed.py [--tools 10000] [--hybrid N] [--json out.json]

The large catalogue is generated from real definitions: the dev set (Azure MCP tools) and the hard set (recorded
real servers plus realistic service definitions) are copied under varied server names (`acme-github`,
`github-eu-2`, ...) with their wording varied (verbs and nouns swapped for common synonyms, phrases appended), so
term statistics look like a large real deployment rather than random strings. Queries are the two sets' own.

Measured in one run, each beside a baseline where one makes sense:
* index build (every server added with `replace_server`) vs the scorer's plain BM25 built over the same tools;
* search latency p50/p95 in process (BM25 mode), vs that plain BM25 ranking the same queries;
* one server replaced (a list_changed) and the first search after it (lazy statistics);
* memory per 1,000 tools (tracemalloc, the index's own allocations);
* `--hybrid N`: the embedding ranker over the first N tools (build includes embedding every tool: ~20-50 tools/s
  on one CPU thread, so N well below 10,000 keeps the run short);
* round trip of `search_tools` through a real gateway over stdio with the `mcp` SDK client on the hard set
  (408 tools, 63 backends), beside a plain `tools/call` through the same gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DEV_SET = HERE.parent.parent / "shared" / "data" / "tool-search-dev"
HARD_SET = HERE / "data" / "search-hard"
SWITCHYARD = Path(sys.executable).with_name("switchyard")

sys.path.insert(0, str(DEV_SET))
sys.path.insert(0, str(HERE))
import eval_search  # noqa: E402  (the shared scorer: its plain BM25 is the baseline)
from search_eval import document, gateway_config, load_tools, search, wait_until_indexed  # noqa: E402

from switchyard.search.index import ToolIndex  # noqa: E402

OWNERS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne"]
SUFFIXES = ["", "-eu", "-us", "-staging", "-prod", "-2", "-internal", "-legacy", "-sandbox"]
SWAPS = {
    "list": ["enumerate", "show"],
    "get": ["fetch", "retrieve"],
    "create": ["make", "add"],
    "delete": ["remove"],
    "update": ["modify", "change"],
    "search": ["find", "look up"],
    "send": ["deliver"],
    "repository": ["repo"],
    "file": ["document"],
    "directory": ["folder"],
    "user": ["member"],
    "message": ["note"],
    "the": ["the"],
}
PHRASES = [
    "",
    " Requires appropriate permissions.",
    " Results are paginated.",
    " Works with the {owner} workspace.",
    " Returns JSON.",
    " Use with care in production.",
    " Supports filtering.",
    " Available to admins only.",
]
_WORD = re.compile(r"[A-Za-z]+")


def varied(tool: dict[str, Any], copy: int, rng: random.Random) -> dict[str, Any]:
    owner = OWNERS[copy % len(OWNERS)]
    server = f"{owner}-{tool['server']}{SUFFIXES[(copy // len(OWNERS)) % len(SUFFIXES)]}"

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        options = SWAPS.get(word.lower())
        return rng.choice(options) if options and rng.random() < 0.3 else word

    description = _WORD.sub(swap, tool.get("description") or "") + rng.choice(PHRASES).format(owner=owner)
    return {**tool, "server": server, "description": description}


def catalogue(size: int, seed: int = 7) -> list[dict[str, Any]]:
    base = load_tools(DEV_SET) + load_tools(HARD_SET)
    rng = random.Random(seed)
    out = list(base)
    copy = 0
    while len(out) < size:
        out.extend(varied(tool, copy, rng) for tool in base[: size - len(out)])
        copy += 1
    return out


def queries() -> list[str]:
    out: list[str] = []
    for data in (DEV_SET, HARD_SET):
        with (data / "queries.jsonl").open(encoding="utf-8") as f:
            out.extend(json.loads(line)["query"] for line in f if line.strip())
    return out


def build(tools: list[dict[str, Any]], embedder: Any = None) -> ToolIndex:
    index = ToolIndex(embedder)
    by_server: dict[str, list[Any]] = {}
    for tool in tools:
        by_server.setdefault(tool["server"], []).append(document(tool))
    for server, documents in by_server.items():
        index.replace_server(server, documents)
    return index


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed(run: Callable[[str], Any], texts: list[str], clock: Callable[[], float] = time.perf_counter) -> list[float]:
    out = []
    for text in texts:
        start = clock()
        run(text)
        out.append((clock() - start) * 1000)
    return out


def in_process(tools: list[dict[str, Any]], texts: list[str], hybrid: int) -> dict[str, Any]:
    results: dict[str, Any] = {"tools": len(tools), "servers": len({t["server"] for t in tools}), "queries": len(texts)}
    gc.collect()
    start = time.perf_counter()
    baseline = eval_search.BM25Ranker(tools)
    results["baseline_build_s"] = time.perf_counter() - start
    results["baseline_backend"] = baseline.backend

    gc.collect()
    start, start_cpu = time.perf_counter(), time.process_time()
    index = build(tools)
    results["build_s"] = time.perf_counter() - start
    results["build_cpu_s"] = time.process_time() - start_cpu
    index.search("warm up the statistics", 10)
    results["build_and_first_search_s"] = time.perf_counter() - start

    del index  # memory is measured on a second build: tracemalloc slows allocation several times over
    gc.collect()
    tracemalloc.start()
    index = build(tools)
    index.search("warm up the statistics", 10)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results["memory_mb_per_1000_tools"] = current / 1e6 / (len(tools) / 1000)

    ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
    for text in texts:  # interleaved, so that load from elsewhere on the machine hits both alike
        ours.extend(timed(lambda q: index.search(q, 10), [text]))
        theirs.extend(timed(lambda q: baseline.search(q, 10), [text]))
        ours_cpu.extend(timed(lambda q: index.search(q, 10), [text], time.process_time))
        theirs_cpu.extend(timed(lambda q: baseline.search(q, 10), [text], time.process_time))
    results["search_ms"] = percentiles(ours)
    results["baseline_search_ms"] = percentiles(theirs)
    results["search_cpu_ms"] = percentiles(ours_cpu)
    results["baseline_search_cpu_ms"] = percentiles(theirs_cpu)

    server = tools[-1]["server"]
    documents = [document(t) for t in tools if t["server"] == server]
    start = time.perf_counter()
    index.replace_server(server, documents)
    results["replace_one_server_ms"] = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    index.search(texts[0], 10)
    results["first_search_after_change_ms"] = (time.perf_counter() - start) * 1000

    if hybrid:
        from switchyard.search.embeddings import MiniLMEmbedder

        start = time.perf_counter()
        embedder = MiniLMEmbedder()
        results["hybrid_model_load_s"] = time.perf_counter() - start
        hybrid_tools = tools[:hybrid]
        results["hybrid_tools"] = len(hybrid_tools)
        start = time.perf_counter()
        hybrid_index = build(hybrid_tools, embedder)
        hybrid_index.search("warm up", 10)
        results["hybrid_build_s"] = time.perf_counter() - start
        results["hybrid_search_ms"] = percentiles(timed(lambda q: hybrid_index.search(q, 10), texts[:300]))
    return results


async def round_trip(samples: int) -> dict[str, Any]:
    """search_tools through a real stdio gateway, beside a plain tools/call through the same gateway."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    texts = queries()
    logging.disable(logging.WARNING)  # the SDK warns on every call of a tool that search mode does not list
    with tempfile.TemporaryDirectory(prefix="switchyard-search-speed-") as tmp:
        config = Path(tmp) / "switchyard.yaml"
        config.write_text(yaml.safe_dump(gateway_config(HARD_SET, hybrid=False)))
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": f"{tmp}/config", "XDG_DATA_HOME": f"{tmp}/data"}
        params = StdioServerParameters(
            command=str(SWITCHYARD),
            args=["serve", "--stdio", "-c", str(config), "--registry", f"{tmp}/registry.db", "--log-level", "error"],
            env=env,
        )
        async with stdio_client(params, errlog=sys.stderr) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await wait_until_indexed(session, HARD_SET)
            search_ms, call_ms = [], []
            for i in range(samples):
                start = time.perf_counter()
                await search(session, texts[i % len(texts)], 5)
                search_ms.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                await session.call_tool("time__get_current_time", {"timezone": "UTC"})
                call_ms.append((time.perf_counter() - start) * 1000)
    return {"search_tools_ms": percentiles(search_ms), "tools_call_ms": percentiles(call_ms), "samples": samples}


def report(results: dict[str, Any], trip: dict[str, Any] | None) -> None:
    r = results
    print(f"catalogue: {r['tools']} tools over {r['servers']} servers; {r['queries']} queries (dev + hard sets)")
    print(f"{'measure':<44}{'switchyard':>14}{'plain BM25':>14}{'target':>12}")
    print(f"{'index build (s)':<44}{r['build_s']:>14.3f}{r['baseline_build_s']:>14.3f}{'< 1':>12}")
    print(f"{'index build, CPU time (s)':<44}{r['build_cpu_s']:>14.3f}")
    print(f"{'build + first search (s)':<44}{r['build_and_first_search_s']:>14.3f}{'':>14}{'':>12}")
    print(f"{'search p50 (ms)':<44}{r['search_ms'][0]:>14.3f}{r['baseline_search_ms'][0]:>14.3f}{'< 1':>12}")
    print(f"{'search p95 (ms)':<44}{r['search_ms'][1]:>14.3f}{r['baseline_search_ms'][1]:>14.3f}{'< 5':>12}")
    print(
        f"{'search p50 / p95, CPU time (ms)':<44}{r['search_cpu_ms'][0]:>7.2f}/{r['search_cpu_ms'][1]:<6.2f}"
        f"{r['baseline_search_cpu_ms'][0]:>7.2f}/{r['baseline_search_cpu_ms'][1]:<6.2f}"
    )
    print(f"{'replace one server (ms)':<44}{r['replace_one_server_ms']:>14.3f}")
    print(f"{'first search after a change (ms)':<44}{r['first_search_after_change_ms']:>14.3f}")
    print(f"{'memory per 1,000 tools (MB, tracemalloc)':<44}{r['memory_mb_per_1000_tools']:>14.2f}")
    print(f"(plain BM25 = the shared eval_search.py builtin, backend {r['baseline_backend']})")
    if "hybrid_build_s" in r:
        print(f"{'hybrid: model load (s)':<44}{r['hybrid_model_load_s']:>14.2f}")
        label = f"hybrid: build, {r['hybrid_tools']} tools incl. embedding (s)"
        print(f"{label:<44}{r['hybrid_build_s']:>14.2f}")
        print(
            f"{'hybrid: search p50 / p95 (ms)':<44}{r['hybrid_search_ms'][0]:>14.2f}{r['hybrid_search_ms'][1]:>14.2f}"
        )
    if trip:
        print(f"\nover MCP (stdio gateway, hard set: 408 tools / 63 backends, {trip['samples']} samples each):")
        for label, key in (("search_tools", "search_tools_ms"), ("plain tools/call", "tools_call_ms")):
            p50, p95 = trip[key]
            print(f"{label + ' round trip p50 / p95 (ms)':<44}{p50:>14.3f}{p95:>14.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", type=int, default=10_000)
    parser.add_argument(
        "--hybrid", type=int, default=0, metavar="N", help="also measure the embedding ranker on the first N tools"
    )
    parser.add_argument("--no-mcp", action="store_true", help="skip the round trip through a gateway")
    parser.add_argument("--samples", type=int, default=300, help="round trips over MCP")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = in_process(catalogue(args.tools), queries(), args.hybrid)
    trip = None if args.no_mcp else asyncio.run(round_trip(args.samples))
    report(results, trip)
    if args.json:
        args.json.write_text(json.dumps({"in_process": results, "mcp": trip}, indent=2))


if __name__ == "__main__":
    main()
