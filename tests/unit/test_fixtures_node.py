"""The pinned Node fixtures (tests/fixtures/node) and the argv helpers in tests.support work offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support import (
    conformance_argv,
    everything_argv,
    faulty_argv,
    filesystem_argv,
    inspector_argv,
    memory_argv,
    memory_env,
    node_bin,
    node_env,
    raw_stdio,
    time_server_argv,
)

pytestmark = pytest.mark.integration


def test_local_node_is_22(node_fixtures: Path) -> None:
    assert node_bin().startswith(str(node_fixtures))
    version = subprocess.run([node_bin(), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v22.")


@pytest.mark.parametrize("server", ["everything", "filesystem", "memory", "time"])
async def test_real_server_answers_initialize_and_lists_tools(server: str, node_fixtures: Path, tmp_path: Path) -> None:
    env = None
    if server == "everything":
        argv = everything_argv()
    elif server == "filesystem":
        argv = filesystem_argv(tmp_path)
    elif server == "memory":
        argv, env = memory_argv(), memory_env(tmp_path / "memory.jsonl")
    else:
        argv = time_server_argv()
    async with raw_stdio(argv, env=env) as client:
        result = await client.initialize("2025-11-25", wait=20)
        assert result["protocolVersion"] == "2025-11-25"
        response, _ = await client.call("tools/list")
        assert len(response["result"]["tools"]) >= 2
        assert await client.close_stdin_and_wait() == 0


def test_inspector_cli_lists_tools_over_stdio(node_fixtures: Path) -> None:
    proc = subprocess.run(
        inspector_argv(*faulty_argv("--tools", "3"), "--method", "tools/list"),
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    names = [tool["name"] for tool in json.loads(proc.stdout)["tools"]]
    assert names[-3:] == ["tool_000", "tool_001", "tool_002"]


def test_conformance_cli_runs(node_fixtures: Path) -> None:
    proc = subprocess.run(
        conformance_argv("list", "--server"), env=node_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "server-initialize" in proc.stdout
