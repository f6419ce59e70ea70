"""A real client end to end: Claude Code (npm `@anthropic-ai/claude-code`, pinned in tests/fixtures/node).

`claude mcp list` starts every configured server, health-checks it and prints `✔ Connected` or a failure; it needs
no login and no network. With two real servers configured (mcp-server-time in the project's `.mcp.json`,
server-memory in the user scope of `~/.claude.json`): `switchyard import` + `connect` leave Claude Code with the
gateway as its only server, and `switchyard restore` gives it its own two back, its files byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import NODE_MODULES, memory_argv, time_server_argv

pytestmark = pytest.mark.integration

CLAUDE = NODE_MODULES / ".bin" / "claude"
SWITCHYARD = Path(sys.executable).parent / "switchyard"
TIMEOUT = 90.0
# `name: command args - ✔ Connected` (or `✗ Failed to connect`, `⏸ Pending approval ...`)
_LISTED = re.compile(r"^(?P<name>[\w.-]+): (?P<target>.*) - (?P<status>.+)$", re.M)


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run to completion in its own process group; on a timeout the group is killed by its id."""
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{argv[0]} did not finish in {TIMEOUT:g}s:\n{out}\n{err}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _mcp_list(project: Path, env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Server name -> (what Claude Code starts, its health) from `claude mcp list`."""
    done = _run([str(CLAUDE), "mcp", "list"], project, env)
    assert done.returncode == 0, f"claude mcp list failed:\n{done.stdout}\n{done.stderr}"
    return {m["name"]: (m["target"], m["status"]) for m in _LISTED.finditer(done.stdout)}


@pytest.fixture
def claude_env(tmp_path: Path, node_fixtures: Path) -> dict[str, str]:
    if not os.access(CLAUDE, os.X_OK):
        pytest.fail(f"{CLAUDE} is missing: run scripts/install-node-fixtures.sh", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_", "SWITCHYARD_", "XDG_"))}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),  # Switchyard's backups and registry, outside HOME
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )
    return env


def test_claude_code_moves_behind_the_gateway_and_back(tmp_path: Path, claude_env: dict[str, str]) -> None:
    home, project = tmp_path / "home", tmp_path / "home" / "shop"
    project.mkdir(parents=True)
    time_argv, memory = time_server_argv(), memory_argv()
    (project / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"time": {"command": time_argv[0], "args": time_argv[1:]}}}, indent=2) + "\n"
    )
    user_file = home / ".claude.json"
    user_file.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "memory": {
                        "type": "stdio",
                        "command": memory[0],
                        "args": memory[1:],
                        "env": {"MEMORY_FILE_PATH": str(tmp_path / "memory.jsonl")},
                    }
                },
                # The project's .mcp.json servers are approved, as `claude` asks once in a trusted folder.
                "projects": {str(project): {"hasTrustDialogAccepted": True, "enabledMcpjsonServers": ["time"]}},
            },
            indent=2,
        )
        + "\n"
    )

    listed = _mcp_list(project, claude_env)
    assert {name: status for name, (_, status) in listed.items()} == {
        "memory": "✔ Connected",
        "time": "✔ Connected",
    }, listed

    sy = [str(SWITCHYARD)]
    imported = _run([*sy, "import", "claude-code"], project, claude_env)
    assert imported.returncode == 0, imported.stderr
    config = home / ".config" / "switchyard" / "switchyard.yaml"
    assert "added time" in imported.stdout and "added memory" in imported.stdout
    before = {path: path.read_bytes() for path in (user_file, project / ".mcp.json")}

    connected = _run([*sy, "connect", "claude-code"], project, claude_env)
    assert connected.returncode == 0, connected.stderr
    listed = _mcp_list(project, claude_env)
    assert list(listed) == ["switchyard"], listed
    target, status = listed["switchyard"]
    assert status == "✔ Connected"
    assert target == f"{SWITCHYARD} serve --stdio --config {config}"  # the gateway, not the servers themselves

    restored = _run([*sy, "restore", "claude-code"], project, claude_env)
    assert restored.returncode == 0, restored.stderr
    assert {path: path.read_bytes() for path in before} == before
    listed = _mcp_list(project, claude_env)
    assert {name: status for name, (_, status) in listed.items()} == {
        "memory": "✔ Connected",
        "time": "✔ Connected",
    }, listed
    assert listed["time"][0] == " ".join(time_argv)
