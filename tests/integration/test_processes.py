"""No backend outlives the gateway: stdin EOF, SIGTERM, SIGINT, and even SIGKILL of the gateway end every
backend process, including the grandchildren of an `npx` launcher, within a few seconds."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.integration.harness import stdio_server, write_config
from tests.support import (
    NODE_FIXTURES,
    descendants,
    faulty_argv,
    node_env,
    raw_stdio,
    reap_zombies,
    time_server_argv,
)

pytestmark = pytest.mark.integration

GONE_WITHIN = 5.0


def _config(tmp_path: Path) -> Path:
    npx = stdio_server(
        ["npx", "--no-install", "--prefix", str(NODE_FIXTURES), "mcp-server-everything", "stdio"],
        env={"PATH": node_env()["PATH"]},
    )
    return write_config(
        tmp_path / "switchyard.json",
        {"everything": npx, "time": stdio_server(time_server_argv()), "faulty": stdio_server(faulty_argv())},
    )


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _wait_gone(pids: set[int]) -> set[int]:
    deadline = time.monotonic() + GONE_WITHIN
    while (alive := _alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    reap_zombies(descendants())
    return alive


@pytest.mark.parametrize("ending", ["stdin-eof", "sigterm", "sigint", "sigkill"])
async def test_backends_die_with_the_gateway(ending: str, tmp_path: Path, node_fixtures: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "switchyard",
        "serve",
        "--stdio",
        "-c",
        str(_config(tmp_path)),
        "--registry",
        str(tmp_path / "r.db"),
    ]
    async with raw_stdio(argv) as gateway:
        await gateway.initialize(wait=60)
        response, _ = await gateway.call("tools/list", wait=30)
        names = {t["name"] for t in response["result"]["tools"]}
        assert {"everything__echo", "time__get_current_time", "faulty__echo"} <= names
        backend_pids = {p.pid for p in psutil.Process(gateway.proc.pid).children(recursive=True)}
        cmdlines = " ".join(" ".join(psutil.Process(p).cmdline()) for p in backend_pids)
        assert "sh -c 'mcp-server-everything'" in cmdlines, "npx runs the server as a grandchild (through a shell)"
        assert len(backend_pids) >= 4

        if ending == "stdin-eof":
            assert gateway.proc.stdin is not None
            gateway.proc.stdin.close()
        else:
            sig = {"sigterm": signal.SIGTERM, "sigint": signal.SIGINT, "sigkill": signal.SIGKILL}[ending]
            os.kill(gateway.proc.pid, sig)
        code = await gateway.proc.wait()
        if ending != "sigkill":
            assert code == 0, f"a clean shutdown on {ending}"
        assert _wait_gone(backend_pids) == set(), f"backends outlived the gateway ({ending})"
