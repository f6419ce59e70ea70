"""Profiles through a running gateway and the real server-filesystem: what each client sees and may call,
argument rules against path traversal, and the meta-tools held to the same decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from switchyard.config import Config
from switchyard.front.session import Session
from switchyard.gateway import Gateway
from switchyard.pipeline import Client
from switchyard.registry import Store
from tests.integration.harness import running_gateway, stdio_server
from tests.support import faulty_argv, filesystem_argv

pytestmark = pytest.mark.integration


def _config(root: Path) -> Config:
    return Config.model_validate(
        {
            "mcpServers": {
                "files": stdio_server(filesystem_argv(root)),
                "echo": stdio_server(faulty_argv()),
                "admin_tools": stdio_server(faulty_argv()),
                "secret_srv": stdio_server(faulty_argv()),
            },
            "policies": {"servers": {"allow": ["files", "echo", "admin_tools"]}},
            "profiles": {
                "basic": {
                    "tools": {"allow": ["echo__echo", "echo__add", "files__read_file", "files__read_multiple_files"]},
                    "arguments": {"files__read_*": {"path": {"path_under": [str(root / "data")]}}},
                },
                "finder": {
                    "mode": "search",
                    "tools": {"allow": ["echo__*", "files__read_file"]},
                    "arguments": {"files__read_file": {"path": {"path_under": [str(root / "data")]}}},
                },
            },
            "search": {"mode": "all"},
        }
    )


class Caller:
    def __init__(self, gateway: Gateway, profile: str | None) -> None:
        self.session = Session(gateway, Client("alice", "http", "s1", profile=profile), lambda message: None)
        self._ids = 0

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._ids += 1
        response = await self.session.handle({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        assert response is not None
        return response

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.request("tools/call", {"name": name, "arguments": arguments or {}})

    async def names(self) -> list[str]:
        return [t["name"] for t in (await self.request("tools/list"))["result"]["tools"]]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "report.txt").write_text("quarterly numbers")
    (tmp_path / "database").mkdir()
    (tmp_path / "database" / "dump.sql").write_text("secret rows")
    (tmp_path / "secret").write_text("top secret")
    return tmp_path


async def test_a_profile_sees_and_calls_only_its_tools(root: Path, tmp_path: Path) -> None:
    store = await Store.open(str(tmp_path / "registry.db"))
    try:
        async with running_gateway(_config(root), store) as gateway:
            assert "secret_srv" not in gateway.backends  # allowed to no one: never started
            basic, anyone = Caller(gateway, "basic"), Caller(gateway, None)
            assert sorted(await basic.names()) == [
                "echo__add",
                "echo__echo",
                "files__read_file",
                "files__read_multiple_files",
            ]
            assert "admin_tools__crash" in await anyone.names()
            assert await Caller(gateway, "nosuch").names() == []  # a profile not configured sees nothing

            refusals = [
                await basic.call("admin_tools__delete_all"),  # an allowed server's tool in no profile
                await basic.call("admin_tools__crash"),
                await basic.call("echo__does_not_exist"),
                await basic.call("nosuchserver__x"),
                await basic.call("secret_srv__dump_env"),
            ]
            shapes = {
                (r["error"]["code"], r["error"]["data"]["reason"], r["error"]["message"].split(":")[0])
                for r in refusals
            }
            assert shapes == {(-32602, "not_allowed", "Unknown tool")}
            assert all(set(r["error"]["data"]) == {"reason", "request_id"} for r in refusals)
            answer = await basic.call("echo__echo", {"text": "hi"})
            assert answer["result"]["content"][0]["text"] == "hi"
            basic.session.close()
            anyone.session.close()
            await gateway.audit.flush()
        records = {r.tool: r for r in await store.list_audit(limit=20)}
        assert records["admin_tools__delete_all"].reason == "unknown_tool"
        assert records["admin_tools__crash"].reason == "tool_not_in_profile"
        assert records["echo__does_not_exist"].reason == "unknown_tool"
        assert records["nosuchserver__x"].reason == "unknown_server"
        assert records["secret_srv__dump_env"].reason == "server_not_allowed"
        assert {records[n].decision for n in ("admin_tools__crash", "nosuchserver__x")} == {"deny"}
    finally:
        await store.close()


async def test_path_traversal_is_refused_before_the_backend(root: Path) -> None:
    data = root / "data"
    attacks = [
        f"{data}/../../etc/passwd",
        f"{data}/%2e%2e/%2e%2e/etc/passwd",
        f"{data}/..%2f..%2fetc/passwd",
        f"{data}//../secret",
        f"{data}/./../../root/.ssh/id_rsa",
        f"{root}/database/dump.sql",
        "\\\\" + str(data).replace("/", "\\\\") + "\\\\..\\\\..\\\\etc\\\\passwd",
        "../etc/passwd",
    ]
    async with running_gateway(_config(root)) as gateway:
        basic = Caller(gateway, "basic")
        for path in attacks:
            response = await basic.call("files__read_file", {"path": path})
            error = response.get("error")
            assert error is not None, path
            assert error["data"]["reason"] == "argument_not_allowed" and error["data"]["argument"] == "path", path
            assert "path_under" in error["message"]
        many = await basic.call("files__read_multiple_files", {"paths": [str(data / "report.txt")]})
        assert "result" in many  # the rule names `path`; other arguments are not its business
        allowed = await basic.call("files__read_file", {"path": str(data / "report.txt")})
        assert "quarterly numbers" in allowed["result"]["content"][0]["text"]
        basic.session.close()


async def test_meta_tools_are_held_to_the_profile(root: Path) -> None:
    async with running_gateway(_config(root)) as gateway:
        finder = Caller(gateway, "finder")
        assert await finder.names() == ["search_tools", "call_tool"]  # the profile's own mode
        found = await finder.call("search_tools", {"query": "crash the server process exit", "limit": 50})
        names = {t["name"] for t in found["result"]["structuredContent"]["tools"]}
        assert names and all(n.startswith("echo__") or n == "files__read_file" for n in names), names
        hidden = await finder.call("call_tool", {"name": "admin_tools__crash", "arguments": {}})
        unknown = await finder.call("call_tool", {"name": "admin_tools__nope", "arguments": {}})
        assert hidden["result"]["isError"] and unknown["result"]["isError"]
        assert hidden["result"]["content"][0]["text"] == "Unknown tool: admin_tools__crash"
        assert unknown["result"]["content"][0]["text"] == "Unknown tool: admin_tools__nope"
        traversal = await finder.call("call_tool", {"name": "files__read_file", "arguments": {"path": "/etc/passwd"}})
        assert traversal["result"]["isError"]
        assert 'Argument "path"' in traversal["result"]["content"][0]["text"]
        recursive = await finder.call("call_tool", {"name": "call_tool", "arguments": {"name": "echo__echo"}})
        assert recursive["result"]["isError"]
        echoed = await finder.call("call_tool", {"name": "echo__echo", "arguments": {"text": "via meta"}})
        assert echoed["result"]["content"][0]["text"] == "via meta"
        finder.session.close()
