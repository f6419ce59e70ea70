"""`switchyard verify` against real servers: each started directly and through `switchyard serve --stdio`."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.switchyard_run import stdio_entry, switchyard, write_config
from tests.support import (
    everything_argv,
    faulty_argv,
    filesystem_argv,
    free_port,
    memory_argv,
    node_env,
    time_server_argv,
)

pytestmark = pytest.mark.integration


def _fixture_servers(tmp_path: Path) -> dict[str, Any]:
    files = tmp_path / "files"
    files.mkdir()
    (files / "hello.txt").write_text("hello\n")
    return {
        "time": stdio_entry(time_server_argv()),
        "everything": stdio_entry(everything_argv()),
        "filesystem": stdio_entry(filesystem_argv(files)),
        "memory": stdio_entry(memory_argv(), env={"MEMORY_FILE_PATH": str(tmp_path / "memory.jsonl")}),
    }


def _verify(tmp_path: Path, config: Path, *options: str, code: int) -> dict[str, Any]:
    run = switchyard("verify", "-c", str(config), "--json", *options, home=tmp_path / "home")
    assert run.returncode == code, run.stdout + run.stderr
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def _servers(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {server["name"]: server for server in report["servers"]}


@pytest.mark.usefixtures("node_fixtures")
def test_real_servers_are_identical_and_prefixed_names_are_reported(tmp_path: Path) -> None:
    config = write_config(tmp_path / "switchyard.json", _fixture_servers(tmp_path))

    report = _verify(tmp_path, config, code=0)

    servers = _servers(report)
    assert {name: s["verdict"] for name, s in servers.items()} == dict.fromkeys(
        ("time", "everything", "filesystem", "memory"), "identical"
    )
    assert servers["everything"]["counts"]["tools"][0] > 10
    assert servers["memory"]["call"]["tool"] == "read_graph"  # read-only, closed world, no arguments
    assert servers["memory"]["call"]["difference"] is None
    assert servers["time"]["call"] is None  # every time tool needs a timezone the schema gives no value for
    changes = {(c["server"], c["original"]): c["public"] for c in report["name_changes"]}
    assert changes[("time", "get_current_time")] == "time__get_current_time"
    assert "gateway.naming: auto" in report["naming_advice"]


@pytest.mark.usefixtures("node_fixtures")
def test_auto_naming_keeps_every_name(tmp_path: Path) -> None:
    servers = _fixture_servers(tmp_path)
    config = write_config(
        tmp_path / "switchyard.json",
        {name: servers[name] for name in ("time", "filesystem")},
        gateway={"naming": "auto"},
    )

    report = _verify(tmp_path, config, code=0)

    assert {s["verdict"] for s in report["servers"]} == {"identical"}
    assert report["name_changes"] == []
    assert report["naming_advice"] is None


def test_table_names_each_verdict_and_the_name_changes(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "switchyard.json",
        {"time": stdio_entry(time_server_argv()), "gone": {"command": "no-such-command-for-verify"}},
    )

    run = switchyard("verify", "-c", str(config), home=tmp_path / "home")

    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["server", "tools", "prompts", "resources", "call", "verdict"]
    assert lines[1].split()[0] == "time" and lines[1].endswith("identical")
    assert "failed to start: command not found: no-such-command-for-verify" in lines[2]
    assert "time: tool get_current_time -> time__get_current_time" in run.stdout


def test_strict_names_fails_on_a_name_change(tmp_path: Path) -> None:
    config = write_config(tmp_path / "switchyard.json", {"time": stdio_entry(time_server_argv())})

    report = _verify(tmp_path, config, "--strict-names", code=1)

    assert _servers(report)["time"]["verdict"] == "identical"
    assert report["name_changes"]


def test_servers_that_cannot_start_are_reported_with_the_reason(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "switchyard.json",
        {
            "missing": {"command": "no-such-command-for-verify", "args": ["--stdio"]},
            "exits": stdio_entry(faulty_argv("--mode", "exit-immediately")),
            "fine": stdio_entry(faulty_argv()),
        },
    )

    servers = _servers(_verify(tmp_path, config, "--timeout", "10", code=1))

    assert servers["missing"]["verdict"] == "failed to start"
    assert servers["missing"]["reason"] == "command not found: no-such-command-for-verify"
    assert servers["exits"]["verdict"] == "failed to start"
    assert "refusing to serve, exiting with status 1" in servers["exits"]["reason"]  # the stderr tail
    assert servers["fine"]["verdict"] == "identical"


def test_a_tool_denied_by_policy_is_hidden_not_a_difference(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "switchyard.json",
        {"faulty": stdio_entry(faulty_argv())},
        policies={"tools": {"deny": ["faulty:crash", "faulty:fail"]}},
    )

    faulty = _servers(_verify(tmp_path, config, code=0))["faulty"]

    assert faulty["verdict"] == "identical"
    assert sorted(faulty["hidden_by_policy"]) == ["tool crash", "tool fail"]
    assert faulty["counts"]["tools"][0] == faulty["counts"]["tools"][1] > 0


def test_tools_the_gateway_drops_are_a_difference(tmp_path: Path) -> None:
    """Under `naming: none` two servers offering the same names keep only the first's: the second's tools are
    unreachable through the gateway, which verify must say, and `auto` would resolve by prefixing them."""
    config = write_config(
        tmp_path / "switchyard.json",
        {"first": stdio_entry(faulty_argv()), "second": stdio_entry(faulty_argv())},
        gateway={"naming": "none"},
    )

    report = _verify(tmp_path, config, code=1)

    servers = _servers(report)
    assert servers["first"]["verdict"] == "identical"
    assert servers["second"]["verdict"] == "differs"
    assert any(
        d.startswith("9 tools unreachable, the name taken by another server: echo, add")
        for d in servers["second"]["differences"]
    )
    assert "echo (first and second)" in report["naming_advice"]


def test_an_unknown_server_name_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "switchyard.json", {"time": stdio_entry(time_server_argv())})

    run = switchyard("verify", "-c", str(config), "--server", "nope", home=tmp_path / "home")

    assert run.returncode == 1
    assert "no server named 'nope' (known: time)" in run.stderr


@pytest.fixture
def everything_over_http(node_fixtures: Path) -> Iterator[str]:
    """server-everything serving Streamable HTTP on a loopback port; yields its /mcp URL."""
    port = free_port()
    server = subprocess.Popen(
        everything_argv("streamableHttp"),
        env=node_env({"PORT": str(port)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None and time.monotonic() < deadline, "server-everything did not listen"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(10)


def test_a_streamable_http_server_is_identical(tmp_path: Path, everything_over_http: str) -> None:
    config = write_config(tmp_path / "switchyard.json", {"remote": {"type": "http", "url": everything_over_http}})

    remote = _servers(_verify(tmp_path, config, code=0))["remote"]

    assert remote["verdict"] == "identical"
    assert remote["counts"]["tools"][0] > 10
    assert remote["call"] == {
        "tool": "get-annotated-message",
        "arguments": {"messageType": "error"},
        "difference": None,
    }


def test_an_unreachable_url_fails_to_start_with_the_reason(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    config = write_config(tmp_path / "switchyard.json", {"remote": {"type": "http", "url": url}})

    remote = _servers(_verify(tmp_path, config, "--timeout", "5", code=1))["remote"]

    assert remote["verdict"] == "failed to start"
    assert remote["reason"].startswith(f"http endpoint {url} unreachable or not MCP")
