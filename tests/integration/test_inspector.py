"""The official MCP Inspector CLI, a second real client, through both fronts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from tests.integration.harness import http_front, make_config, running_gateway, stdio_server, write_config
from tests.support import inspector_argv, node_env, time_server_argv

pytestmark = pytest.mark.integration


async def _inspect(*args: str) -> dict:  # type: ignore[type-arg]
    result = await anyio.run_process(inspector_argv(*args), env=node_env(), check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return json.loads(result.stdout)  # type: ignore[no-any-return]


async def test_inspector_over_http(node_fixtures: Path) -> None:
    async with (
        running_gateway(make_config({"time": stdio_server(time_server_argv())})) as gateway,
        http_front(gateway) as url,
    ):
        listed = await _inspect(url, "--transport", "http", "--method", "tools/list")
        assert {t["name"] for t in listed["tools"]} == {"time__get_current_time", "time__convert_time"}
        called = await _inspect(
            url,
            "--transport",
            "http",
            "--method",
            "tools/call",
            "--tool-name",
            "time__get_current_time",
            "--tool-arg",
            "timezone=UTC",
        )
        assert called["structuredContent"]["timezone"] == "UTC"


async def test_inspector_over_stdio(tmp_path: Path, node_fixtures: Path) -> None:
    config = write_config(tmp_path / "switchyard.json", {"time": stdio_server(time_server_argv())})
    gateway = [
        sys.executable,
        "-m",
        "switchyard",
        "serve",
        "--stdio",
        "-c",
        str(config),
        "--registry",
        str(tmp_path / "r.db"),
    ]
    called = await _inspect(
        *gateway,
        "--method",
        "tools/call",
        "--tool-name",
        "time__convert_time",
        "--tool-arg",
        "source_timezone=UTC",
        "--tool-arg",
        "time=12:00",
        "--tool-arg",
        "target_timezone=Asia/Tokyo",
    )
    assert called["structuredContent"]["target"]["datetime"].startswith(
        called["structuredContent"]["source"]["datetime"][:10]
    )
    assert "T21:00:00+09:00" in called["structuredContent"]["target"]["datetime"]
