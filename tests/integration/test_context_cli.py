"""`switchyard context` against real servers (mcp-server-time, server-memory) and a recorded catalogue.

The report's counts are checked against what the gateway really sends: the same config served over stdio,
its raw tools/list result counted the same way (compact JSON, cl100k_base).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from switchyard.search.context import tools_list_tokens
from tests.integration.switchyard_run import private_environment, stdio_entry, switchyard, write_config
from tests.support import memory_argv, raw_stdio, time_server_argv

pytestmark = pytest.mark.integration

POPULAR = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "catalogues" / "popular-12.json"
REPORT_KEYS = {"servers", "encoding", "counted", "configured_mode", "budget_tokens", "auto_estimate", "auto_picks"}
MODE_KEYS = {"mode", "label", "tools", "tokens", "reduction_percent", "estimated"}
TIME_AND_MEMORY_TOOLS = 2 + 9


def _servers(tmp_path: Path) -> dict[str, Any]:
    return {
        "time": stdio_entry(time_server_argv()),
        "memory": stdio_entry(memory_argv(), env={"MEMORY_FILE_PATH": str(tmp_path / "memory.jsonl")}),
    }


def _report(*args: str, home: Path) -> dict[str, Any]:
    done = switchyard("context", *args, "--json", home=home)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _row(report: dict[str, Any], label: str) -> dict[str, Any]:
    return next(row for row in report["modes"] if row["label"] == label)


async def _served_tools(config: Path, home: Path, expected: int) -> list[dict[str, Any]]:
    """The raw tools/list result of `switchyard serve --stdio` once every backend's tools are in."""
    argv = [sys.executable, "-m", "switchyard", "serve", "--stdio", "-c", str(config), "--log-level", "error"]
    async with raw_stdio(argv, env=private_environment(home), cwd=home) as client:
        await client.initialize(wait=30)
        with anyio.fail_after(30):
            while True:
                response, _ = await client.call("tools/list", {})
                tools: list[dict[str, Any]] = response["result"]["tools"]
                if len(tools) >= expected:
                    return tools
                await anyio.sleep(0.2)


async def test_the_report_counts_what_the_gateway_sends(tmp_path: Path) -> None:
    home = tmp_path / "home"
    searching = write_config(
        tmp_path / "search.json", _servers(tmp_path), search={"mode": "search", "always": ["time__*"]}
    )
    listing = write_config(tmp_path / "all.json", _servers(tmp_path), search={"mode": "all"})

    report = _report("-c", str(searching), home=home)
    assert set(report) == REPORT_KEYS | {"modes"}
    assert all(set(row) == MODE_KEYS for row in report["modes"])
    assert (report["servers"], report["encoding"], report["configured_mode"]) == (2, "cl100k_base", "search")
    every, search = _row(report, "all"), _row(report, "search")
    assert every["tools"] == TIME_AND_MEMORY_TOOLS
    assert search["tools"] == 2 + 2  # the meta-tools and time's two tools (always)

    served_search = await _served_tools(searching, home, expected=4)
    assert sorted(t["name"] for t in served_search) == [
        "call_tool",
        "search_tools",
        "time__convert_time",
        "time__get_current_time",
    ]
    assert tools_list_tokens(served_search) == search["tokens"]
    served_all = await _served_tools(listing, home, expected=TIME_AND_MEMORY_TOOLS)
    assert len(served_all) == TIME_AND_MEMORY_TOOLS
    assert tools_list_tokens(served_all) == every["tokens"]
    assert search["reduction_percent"] == round(100 * (1 - search["tokens"] / every["tokens"]), 1)
    auto = report["modes"][-1]
    assert auto["mode"] == "auto"
    assert auto["tokens"] == (every if report["auto_picks"] == "all" else search)["tokens"]


def test_the_report_on_a_recorded_catalogue(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(tmp_path / "empty.json", {})
    report = _report("-c", str(config), "--catalogue", str(POPULAR), home=home)
    assert (report["servers"], _row(report, "all")["tools"]) == (12, 68)
    assert report["auto_picks"] == "search"  # 68 tools are well over the 5,000-token budget
    assert _row(report, "search")["reduction_percent"] >= 85
    assert [row["mode"] for row in report["modes"]] == ["all", "search", "dynamic", "dynamic", "auto"]

    table = switchyard("context", "-c", str(config), "--catalogue", str(POPULAR), home=home)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "68 tools over 12 servers; configured mode: auto"
    assert "cl100k_base" in lines[1] and "compact JSON of the tools/list result" in lines[1]
    assert lines[2].split() == ["mode", "tools", "listed", "tokens", "reduction", "vs", "all"]
    assert lines[3].split()[:2] == ["all", "68"]


def test_a_bad_catalogue_is_a_precise_usage_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = write_config(tmp_path / "empty.json", {})
    shapeless = tmp_path / "shapeless.json"
    shapeless.write_text(json.dumps({"servers": {"time": {"tools": [{"description": "no name"}]}}}))
    cases = {
        tmp_path / "missing.json": "cannot read the catalogue",
        shapeless: 'servers.time.tools must be a list of tools, each with a "name"',
    }
    for path, message in cases.items():
        done = switchyard("context", "-c", str(config), "--catalogue", str(path), home=home)
        assert done.returncode == 2, done.stdout
        assert done.stderr.startswith("error: ") and message in done.stderr and str(path) in done.stderr
        assert "Traceback" not in done.stderr
