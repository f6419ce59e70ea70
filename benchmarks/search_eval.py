"""Tool-search quality through the real search path: an MCP client calling the gateway's `search_tools` meta-tool.

    .venv/bin/python benchmarks/search_eval.py                      # the dev set and the hard set
    .venv/bin/python benchmarks/search_eval.py --data DIR [--data DIR ...] [--hybrid] [--per-query DIR]

For each data set (tools.jsonl + queries.jsonl, the format of ../shared/data/tool-search-dev/) it runs the shared
scorer `eval_search.py` twice in the same run: with its built-in plain BM25 (`--builtin bm25`, the baseline) and
with `--cmd` pointing back at this script in `--serve-gateway` mode. That mode starts `switchyard serve --stdio`
with `search: {mode: search}` and one backend per pseudo-server of the data set (`catalogue_server.py`, a
stdlib-only stdio server serving that server's tools), connects with the `mcp` SDK client and answers each query
by calling `search_tools(query, limit)`, mapping every hit to `server/tool` from the hit's own `server` and `tool`
fields. Both scorer outputs are printed whole (R@1/3/5/10, MRR, nDCG@5, lenient and strict, per kind), then a
summary against the targets.

`--hybrid` runs the gateway with the embedding ranker fused in (needs the `embeddings` extra and the gateway's
`search.embeddings` setting). `--in-process` answers from the index in this process instead of a gateway (same
ranking code, no MCP hop), for quick experiments; its output is labelled so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DEV_SET = ROOT.parent / "shared" / "data" / "tool-search-dev"
HARD_SET = HERE / "data" / "search-hard"
SCORER = DEV_SET / "eval_search.py"
SWITCHYARD = Path(sys.executable).with_name("switchyard")
START_TIMEOUT = 120.0

TARGETS = {
    "tool-search-dev": "R@1 >= 0.88, MRR >= 0.92, R@5 >= baseline",
    "search-hard": "R@5 >= 0.90, multi-tool R@10 >= 0.75",
}


def load_tools(data: Path) -> list[dict[str, Any]]:
    with (data / "tools.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def gateway_config(data: Path, hybrid: bool) -> dict[str, Any]:
    servers = sorted({tool["server"] for tool in load_tools(data)})
    backend = str(HERE / "catalogue_server.py")
    tools = str(data / "tools.jsonl")
    search: dict[str, Any] = {"mode": "search"}
    if hybrid:
        search["embeddings"] = True
    return {
        "search": search,
        "mcpServers": {server: {"command": sys.executable, "args": [backend, tools, server]} for server in servers},
    }


async def serve_gateway(data: Path, hybrid: bool) -> None:
    """Answer the scorer's JSON lines by calling search_tools on a real gateway over stdio."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    with tempfile.TemporaryDirectory(prefix="switchyard-search-eval-") as tmp:
        config = Path(tmp) / "switchyard.yaml"
        config.write_text(yaml.safe_dump(gateway_config(data, hybrid)))
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": f"{tmp}/config", "XDG_DATA_HOME": f"{tmp}/data"}
        params = StdioServerParameters(
            command=str(SWITCHYARD),
            args=["serve", "--stdio", "-c", str(config), "--registry", f"{tmp}/registry.db", "--log-level", "error"],
            env=env,
        )
        async with stdio_client(params, errlog=sys.stderr) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await wait_until_indexed(session, data)
            if hybrid:
                await wait_until_hybrid(session)
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    return
                if not line.strip():
                    continue
                request = json.loads(line)
                results = await search(session, request["query"], int(request.get("k", 10)))
                sys.stdout.write(json.dumps({"results": results}) + "\n")
                sys.stdout.flush()


async def search(session: Any, query: str, limit: int, server: str | None = None) -> list[str]:
    arguments: dict[str, Any] = {"query": query, "limit": limit}
    if server is not None:
        arguments["server"] = server
    result = await session.call_tool("search_tools", arguments)
    if result.is_error:
        raise RuntimeError(f"search_tools failed: {result.content}")
    return [f"{hit['server']}/{hit['tool']}" for hit in (result.structured_content or {}).get("tools", [])]


async def wait_until_indexed(session: Any, data: Path) -> None:
    """Backends start in the background: wait until a search finds every server's tools."""
    expected: dict[str, set[str]] = {}
    for tool in load_tools(data):
        expected.setdefault(tool["server"], set()).add(tool["name"])
    deadline = time.monotonic() + START_TIMEOUT
    pending = dict(expected)
    while pending:
        for server in list(pending):
            found = await search(session, f"{server} {' '.join(sorted(pending[server]))}", 50, server=server)
            if len(found) >= min(len(pending[server]), 50):
                del pending[server]
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"servers not indexed after {START_TIMEOUT:.0f}s: {sorted(pending)[:10]}")
        if pending:
            await asyncio.sleep(0.2)


async def wait_until_hybrid(session: Any) -> None:
    """The gateway loads the embedding model in the background and ranks by BM25 meanwhile. A query of made-up
    words matches nothing lexically: once it finds tools, the semantic ranker is in."""
    deadline = time.monotonic() + START_TIMEOUT
    while not await search(session, "qzxv wvkq jjzx", 1):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gateway's search not hybrid after {START_TIMEOUT:.0f}s (search.embeddings)")
        await asyncio.sleep(0.5)


def serve_index(data: Path, hybrid: bool) -> None:
    """The same contract answered by the index in process: no gateway, for quick experiments."""
    from switchyard.search.index import ToolDocument, ToolIndex

    index = ToolIndex(embedder() if hybrid else None)
    by_server: dict[str, list[ToolDocument]] = {}
    for tool in load_tools(data):
        by_server.setdefault(tool["server"], []).append(document(tool))
    for server, documents in by_server.items():
        index.replace_server(server, documents)
    for line in sys.stdin:
        if line.strip():
            request = json.loads(line)
            hits = index.search(request["query"], int(request.get("k", 10)))
            results = [f"{hit.document.server}/{hit.document.tool}" for hit in hits]
            sys.stdout.write(json.dumps({"results": results}) + "\n")
            sys.stdout.flush()


def document(tool: dict[str, Any]) -> Any:
    from switchyard.search.index import ToolDocument

    return ToolDocument(
        name=f"{tool['server']}__{tool['name']}",
        server=tool["server"],
        tool=tool["name"],
        description=tool.get("description") or "",
        input_schema=tool.get("inputSchema") or {},
        title=tool.get("title") or "",
        server_description=tool.get("serverDescription") or "",
    )


def embedder() -> Any:
    from switchyard.search.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()


def score(data: Path, ranker: list[str], per_query: Path | None) -> tuple[str, dict[str, Any]]:
    with tempfile.NamedTemporaryFile(suffix=".json") as summary:
        argv = [sys.executable, str(SCORER), "--data", str(data), "--json", summary.name, *ranker]
        if per_query is not None:
            argv += ["--per-query", str(per_query)]
        run = subprocess.run(argv, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise SystemExit(f"scorer failed ({run.returncode}): {run.stderr[-2000:]}")
        return run.stdout, json.loads(Path(summary.name).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, action="append", help="data set dir (default: dev set and hard set)")
    parser.add_argument("--hybrid", action="store_true", help="fuse the embedding ranker in (needs the extra)")
    parser.add_argument("--in-process", action="store_true", help="rank in process instead of through a gateway")
    parser.add_argument("--per-query", type=Path, help="directory for per-query rankings")
    parser.add_argument("--serve-gateway", type=Path, metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--serve-index", type=Path, metavar="DIR", help="in-process ranker for the scorer's --cmd")
    args = parser.parse_args()
    if args.serve_gateway:
        asyncio.run(serve_gateway(args.serve_gateway, args.hybrid))
        return
    if args.serve_index:
        serve_index(args.serve_index, args.hybrid)
        return

    rows: list[str] = []
    for data in args.data or [DEV_SET, HARD_SET]:
        data = data.resolve()
        if args.per_query:
            args.per_query.mkdir(parents=True, exist_ok=True)
        mode = "--serve-index" if args.in_process else "--serve-gateway"
        serve = [sys.executable, str(Path(__file__).resolve()), mode, str(data)]
        if args.hybrid:
            serve.append("--hybrid")
        print(f"\n=== {data.name}: baseline (plain BM25, the scorer's builtin) ===", flush=True)
        base_out, base = score(data, ["--builtin", "bm25"], None)
        print(base_out, flush=True)
        label = "Switchyard index in process" if args.in_process else "Switchyard search_tools over MCP"
        print(f"=== {data.name}: {label}{' (hybrid)' if args.hybrid else ''} ===", flush=True)
        per_query = args.per_query / f"{data.name}.jsonl" if args.per_query else None
        ours_out, ours = score(data, ["--cmd", shlex.join(serve), "--timeout", "180"], per_query)
        print(re.sub(r"^ranker: cmd: .*$", f"ranker: {label}", ours_out, flags=re.M))
        rows.extend(summary_rows(data.name, base, ours))
    print("\n=== summary (lenient gold) ===")
    print(f"{'set':<16}{'subset':<14}{'ranker':<12}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'MRR':>7}{'nDCG@5':>8}")
    print("\n".join(rows))
    for name, target in TARGETS.items():
        print(f"targets {name}: {target}")


def summary_rows(name: str, base: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    rows = []
    for subset in ours["subsets"]:
        if subset.startswith("source="):
            continue
        for label, summary in (("bm25", base), ("switchyard", ours)):
            m = summary["subsets"][subset]
            rows.append(
                f"{name:<16}{subset:<14}{label:<12}{m['lenient_R@1']:>7.3f}{m['lenient_R@5']:>7.3f}"
                f"{m['lenient_R@10']:>7.3f}{m['lenient_MRR']:>7.3f}{m['lenient_nDCG@5']:>8.3f}"
            )
    return rows


if __name__ == "__main__":
    main()
