"""tests/fixtures/servers/faulty.py driven over raw stdio, and the process-leak guard itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support import (
    REPO_ROOT,
    STDIO_TIMEOUT,
    RawStdioClient,
    descendants,
    faulty_argv,
    find_leaked_processes,
    kill_processes,
    raw_stdio,
)

LEGACY_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]


def faulty(*flags: str) -> contextlib.AbstractAsyncContextManager[RawStdioClient]:
    return raw_stdio(faulty_argv(*flags))


def text_of(response: dict[str, Any]) -> str:
    return str(response["result"]["content"][0]["text"])


# --- handshake and basic methods --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "expected"),
    [*((v, v) for v in LEGACY_VERSIONS), ("2026-07-28", "2025-11-25"), ("1999-01-01", "2025-11-25")],
)
async def test_initialize_negotiates_version(requested: str, expected: str) -> None:
    async with faulty() as server:
        result = await server.initialize(requested)
        assert result["protocolVersion"] == expected
        assert result["capabilities"]["tools"] == {"listChanged": True}
        assert "prompts" in result["capabilities"]
        assert "resources" in result["capabilities"]
        assert result["serverInfo"]["name"] == "faulty"
        assert await server.close_stdin_and_wait() == 0
        assert "faulty: started mode=normal" in await server.stderr_text()


async def test_ping_lists_and_unknown_methods() -> None:
    async with faulty() as server:
        await server.initialize()
        assert (await server.call("ping"))[0]["result"] == {}
        assert (await server.call("prompts/list"))[0]["result"] == {"prompts": []}
        assert (await server.call("resources/list"))[0]["result"] == {"resources": []}
        for method in ("server/discover", "sampling/createMessage", "nope"):
            response, _ = await server.call(method)
            assert response["error"]["code"] == -32601
        await server.send({"jsonrpc": "2.0", "method": "notifications/whatever"})  # ignored
        response, _ = await server.call("tools/call", {"name": "no_such_tool"})
        assert response["error"]["code"] == -32602


async def test_parse_error_answers_with_null_id() -> None:
    async with faulty() as server:
        assert server.proc.stdin is not None
        server.proc.stdin.write(b"this is not json\n")
        message = await server.read_message()
        assert message is not None
        assert message["id"] is None
        assert message["error"]["code"] == -32700


async def test_tools_list_has_builtin_tools_with_schemas() -> None:
    async with faulty() as server:
        await server.initialize()
        tools = {t["name"]: t for t in (await server.call("tools/list"))[0]["result"]["tools"]}
        assert set(tools) == {
            "echo", "add", "sleep", "progress", "log", "crash", "change_tools", "fail", "is_error",
        }  # fmt: skip
        assert tools["add"]["outputSchema"]["properties"]["sum"]["type"] == "number"
        assert tools["echo"]["inputSchema"]["required"] == ["text"]


async def test_generated_tools_for_large_listings() -> None:
    async with faulty("--tools", "120") as server:
        await server.initialize()
        tools = (await server.call("tools/list"))[0]["result"]["tools"]
        generated = [t for t in tools if t["name"].startswith("tool_")]
        assert [t["name"] for t in generated] == [f"tool_{i:03d}" for i in range(120)]
        for tool in generated:
            assert len(tool["description"]) > 30
            assert 2 <= len(tool["inputSchema"]["properties"]) <= 3
        assert len({t["description"] for t in generated}) == 120
        response = await server.tool("tool_007", {"id": "x"})
        assert "tool_007 called" in text_of(response)


async def test_tools_list_pagination() -> None:
    async with faulty("--tools", "100", "--page-size", "50") as server:
        await server.initialize()
        names: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params = {"cursor": cursor} if cursor else {}
            result = (await server.call("tools/list", params))[0]["result"]
            names += [t["name"] for t in result["tools"]]
            pages += 1
            cursor = result.get("nextCursor")
            if cursor is None:
                break
        assert pages == 3
        assert len(names) == len(set(names)) == 109
        response, _ = await server.call("tools/list", {"cursor": "bogus"})
        assert response["error"]["code"] == -32602


# --- the always-present tools -----------------------------------------------------------------------


async def test_echo_add_fail_is_error() -> None:
    async with faulty() as server:
        await server.initialize()
        assert text_of(await server.tool("echo", {"text": "héllo"})) == "héllo"
        added = await server.tool("add", {"a": 2, "b": 3.5})
        assert added["result"]["structuredContent"] == {"sum": 5.5}
        assert json.loads(text_of(added)) == {"sum": 5.5}
        failed = await server.tool("fail")
        assert failed["error"] == {"code": -32000, "message": "deliberate failure", "data": {"hint": "x"}}
        is_error = await server.tool("is_error")
        assert is_error["result"]["isError"] is True


async def test_progress_uses_the_request_token() -> None:
    async with faulty() as server:
        await server.initialize()
        params = {"name": "progress", "arguments": {"steps": 3}, "_meta": {"progressToken": "tok-1"}}
        response, notes = await server.call("tools/call", params)
        assert [n["method"] for n in notes] == ["notifications/progress"] * 3
        assert [n["params"]["progress"] for n in notes] == [1, 2, 3]
        assert {n["params"]["progressToken"] for n in notes} == {"tok-1"}
        assert "result" in response
        # without a token: no notifications
        response, notes = await server.call("tools/call", {"name": "progress", "arguments": {"steps": 2}})
        assert notes == []


async def test_log_sends_notifications_message() -> None:
    async with faulty() as server:
        await server.initialize()
        params = {"name": "log", "arguments": {"message": "careful", "level": "warning"}}
        response, notes = await server.call("tools/call", params)
        assert notes == [
            {
                "jsonrpc": "2.0",
                "method": "notifications/message",
                "params": {"level": "warning", "logger": "faulty", "data": "careful"},
            }
        ]
        assert "result" in response


async def test_change_tools_adds_dynamic_tool_and_notifies() -> None:
    async with faulty() as server:
        await server.initialize()
        _, notes = await server.call("tools/call", {"name": "change_tools", "arguments": {}})
        assert [n["method"] for n in notes] == ["notifications/tools/list_changed"]
        names = [t["name"] for t in (await server.call("tools/list"))[0]["result"]["tools"]]
        assert "dynamic_tool" in names
        assert "result" in await server.tool("dynamic_tool")


async def test_sleep_answers_later_without_blocking_other_requests() -> None:
    async with faulty() as server:
        await server.initialize()
        started = time.monotonic()
        sleep_id = await server.send_request("tools/call", {"name": "sleep", "arguments": {"seconds": 0.5}})
        ping, _ = await server.call("ping")
        assert ping["result"] == {}
        assert time.monotonic() - started < 0.4
        message = await server.read_message()
        assert message is not None
        assert message["id"] == sleep_id
        assert text_of(message) == "slept 0.5s"
        assert time.monotonic() - started >= 0.5


async def test_sleep_honours_cancellation() -> None:
    async with faulty() as server:
        await server.initialize()
        sleep_id = await server.send_request("tools/call", {"name": "sleep", "arguments": {"seconds": 0.3}})
        await server.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": sleep_id}})
        assert await server.silence(0.8) == []
        assert (await server.call("ping"))[0]["result"] == {}


async def test_crash_tool_exits_3_without_answer() -> None:
    async with faulty() as server:
        await server.initialize()
        await server.send_request("tools/call", {"name": "crash", "arguments": {}})
        assert await server.read_message() is None
        assert await asyncio.wait_for(server.proc.wait(), STDIO_TIMEOUT) == 3


async def test_exits_when_stdin_closes_even_with_a_call_pending() -> None:
    async with faulty() as server:
        await server.initialize()
        await server.send_request("tools/call", {"name": "sleep", "arguments": {"seconds": 60}})
        started = time.monotonic()
        assert await server.close_stdin_and_wait() == 0
        assert time.monotonic() - started < 2


# --- modes ------------------------------------------------------------------------------------------


async def test_mode_crash_on_call() -> None:
    async with faulty("--mode", "crash-on-call") as server:
        await server.initialize()
        assert (await server.call("tools/list"))[0]["result"]["tools"]
        await server.send_request("tools/call", {"name": "echo", "arguments": {"text": "x"}})
        assert await server.read_message() is None
        assert await asyncio.wait_for(server.proc.wait(), STDIO_TIMEOUT) == 3
        assert "crash-on-call" in await server.stderr_text()


async def test_mode_hang_on_call() -> None:
    async with faulty("--mode", "hang-on-call") as server:
        await server.initialize()
        await server.send_request("tools/call", {"name": "echo", "arguments": {"text": "x"}})
        assert await server.silence(0.5) == []
        assert (await server.call("ping"))[0]["result"] == {}
        assert await server.close_stdin_and_wait() == 0


async def test_mode_garbage_stdout_still_answers() -> None:
    async with faulty("--mode", "garbage-stdout") as server:
        result = await server.initialize()
        assert result["protocolVersion"] == "2025-11-25"
        assert text_of(await server.tool("echo", {"text": "ok"})) == "ok"
        not_json = [line for line in server.garbage if not line.startswith(b"{")]
        json_not_rpc = [line for line in server.garbage if line.startswith(b"{")]
        assert len(not_json) >= 3  # at start, before initialize's answer, before the call's answer
        assert len(json_not_rpc) >= 3
        assert all("jsonrpc" not in json.loads(line) for line in json_not_rpc)


async def test_mode_slow_start() -> None:
    started = time.monotonic()
    async with faulty("--mode", "slow-start", "--start-delay", "0.6") as server:
        assert server.proc.stderr is not None
        first = await asyncio.wait_for(server.proc.stderr.readline(), STDIO_TIMEOUT)
        assert b"faulty: started mode=slow-start" in first
        await server.initialize()
        assert time.monotonic() - started >= 0.6


async def test_mode_flood() -> None:
    async with faulty("--mode", "flood") as server:
        await server.initialize()
        response, notes = await server.call("tools/call", {"name": "echo", "arguments": {"text": "x"}})
        assert len(notes) == 1000
        assert {n["method"] for n in notes} == {"notifications/message"}
        assert text_of(response) == "x"


async def test_mode_rug_pull() -> None:
    async with faulty("--mode", "rug-pull") as server:
        await server.initialize()

        async def echo_description() -> str:
            tools = (await server.call("tools/list"))[0]["result"]["tools"]
            return str(next(t["description"] for t in tools if t["name"] == "echo"))

        first = await echo_description()
        second = await echo_description()
        third = await echo_description()
        assert "<IMPORTANT>" not in first
        assert second != first
        assert "<IMPORTANT>" in second
        assert "id_rsa" in second
        assert third == second


async def test_mode_exit_immediately() -> None:
    async with faulty("--mode", "exit-immediately") as server:
        assert await asyncio.wait_for(server.proc.wait(), STDIO_TIMEOUT) == 1
        stderr = await server.stderr_text()
        assert "faulty: started mode=exit-immediately" in stderr
        assert "exit-immediately" in stderr.splitlines()[-1]


# --- the process-leak guard -------------------------------------------------------------------------


@pytest.mark.allow_process_leak
def test_leak_guard_detects_orphaned_grandchild() -> None:
    before = descendants()
    # sh starts `sleep 60` in the background and exits: the sleep is orphaned and, thanks to
    # PR_SET_CHILD_SUBREAPER, re-parented to pytest instead of init.
    out = subprocess.run(["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True)
    pid = int(out.stdout.strip())
    try:
        assert psutil.Process(pid).ppid() == os.getpid()
        leaked = find_leaked_processes(before, grace=0.3)
        assert [leak.pid for leak in leaked] == [pid]
        assert leaked[0].cmdline == "sleep 60"
    finally:
        kill_processes([pid])
    assert not psutil.pid_exists(pid)
    assert find_leaked_processes(before, grace=0) == []


def test_leak_guard_fails_a_leaking_test_and_kills_the_leak(tmp_path: Path) -> None:
    pidfile = tmp_path / "leaked.pid"
    test_file = tmp_path / "test_leaky.py"
    test_file.write_text(
        "import pathlib, subprocess\n"
        "def test_leaks():\n"
        "    out = subprocess.run(['sh', '-c', 'sleep 60 >/dev/null 2>&1 & echo $!'],\n"
        "                         capture_output=True, text=True)\n"
        f"    pathlib.Path({str(pidfile)!r}).write_text(out.stdout)\n"
    )
    env = {**os.environ, "SWITCHYARD_LEAK_GRACE": "0.3", "PYTHONDONTWRITEBYTECODE": "1"}
    inner = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-q",
         "-c", str(REPO_ROOT / "pyproject.toml"), "--rootdir", str(REPO_ROOT), str(test_file)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    leaked_pid = int(pidfile.read_text())
    assert inner.returncode == 1, inner.stdout + inner.stderr
    assert "leaked 1 process" in inner.stdout
    assert f"pid {leaked_pid}" in inner.stdout
    assert "sleep 60" in inner.stdout
    assert not psutil.pid_exists(leaked_pid)
