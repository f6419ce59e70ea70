"""Real MCP servers (PyPI and npm) through the gateway: everything they offer is listed, and calls return
what the same call returns when the client speaks to the server directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.integration.harness import (
    dump,
    gateway_stdio_params,
    http_front,
    legacy_client,
    make_config,
    running_gateway,
    stdio_server,
    write_config,
)
from tests.support import everything_argv, filesystem_argv, memory_argv, memory_env, time_server_argv

pytestmark = pytest.mark.integration


def _servers(tmp_path: Path, memory_file: str) -> dict[str, dict[str, Any]]:
    root = tmp_path / "files"
    root.mkdir(exist_ok=True)
    (root / "hello.txt").write_text("hello from the filesystem\n")
    return {
        "time": stdio_server(time_server_argv()),
        "everything": stdio_server(everything_argv()),
        "filesystem": stdio_server(filesystem_argv(root)),
        "memory": stdio_server(memory_argv(), env={"MEMORY_FILE_PATH": str(tmp_path / memory_file)}),
    }


async def _all_pages(list_page: Any, key: str) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = await list_page(cursor=cursor) if cursor else await list_page()
        items.extend(getattr(page, key))
        cursor = page.next_cursor
        if not cursor:
            return items


async def _catalogue(client: Client) -> dict[str, list[dict[str, Any]]]:
    """Everything a server offers, all pages, for the kinds it declares."""
    caps = client.server_capabilities
    listings: dict[str, list[dict[str, Any]]] = {"tools": [], "prompts": [], "resources": [], "templates": []}
    if caps.tools is not None:
        listings["tools"] = [dump(t) for t in await _all_pages(client.list_tools, "tools")]
    if caps.prompts is not None:
        listings["prompts"] = [dump(p) for p in await _all_pages(client.list_prompts, "prompts")]
    if caps.resources is not None:
        listings["resources"] = [dump(r) for r in await _all_pages(client.list_resources, "resources")]
        templates = await _all_pages(client.list_resource_templates, "resource_templates")
        listings["templates"] = [dump(t) for t in templates]
    return listings


def _params(argv: list[str], env: dict[str, str] | None = None) -> StdioServerParameters:
    return StdioServerParameters(command=argv[0], args=argv[1:], env=env)


# name in config -> (argv for a direct connection, env)
def _direct(tmp_path: Path, name: str) -> StdioServerParameters:
    root = tmp_path / "files"
    return {
        "time": lambda: _params(time_server_argv()),
        "everything": lambda: _params(everything_argv()),
        "filesystem": lambda: _params(filesystem_argv(root)),
        "memory": lambda: _params(memory_argv(), memory_env(tmp_path / "direct-memory.jsonl")),
    }[name]()


REPRESENTATIVE_CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("time", "convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}),
    ("everything", "echo", {"message": "through the yard"}),
    ("everything", "get-sum", {"a": 2, "b": 40}),
    ("everything", "get-structured-content", {"location": "New York"}),
    ("filesystem", "read_text_file", {"path": "{root}/hello.txt"}),
    ("memory", "read_graph", {}),
]


async def _unused_callback(*args: Any) -> Any:
    raise AssertionError("not expected to be called")


def _direct_client(tmp_path: Path, server: str) -> Client:
    """A direct client declaring what the gateway's shared backend session declares (sampling, elicitation),
    since servers such as server-everything offer tools depending on it."""
    return legacy_client(
        _direct(tmp_path, server), sampling_callback=_unused_callback, elicitation_callback=_unused_callback
    )


async def _check_against_direct(gateway_client: Client, tmp_path: Path) -> None:
    through = await _catalogue(gateway_client)
    root = str(tmp_path / "files")
    for server in ("time", "everything", "filesystem", "memory"):
        async with _direct_client(tmp_path, server) as direct:
            direct_catalogue = await _catalogue(direct)
        prefix = f"{server}__"
        mine = {t["name"].removeprefix(prefix): t for t in through["tools"] if t["name"].startswith(prefix)}
        theirs = {t["name"]: t for t in direct_catalogue["tools"]}
        assert set(mine) == set(theirs), server
        for name, tool in theirs.items():
            assert {**mine[name], "name": name} == tool, f"{server}:{name} definition changed in transit"
        mine_prompts = {p["name"].removeprefix(prefix) for p in through["prompts"] if p["name"].startswith(prefix)}
        assert mine_prompts == {p["name"] for p in direct_catalogue["prompts"]}, server
        uris = {r["uri"] for r in through["resources"]}
        assert {r["uri"] for r in direct_catalogue["resources"]} <= uris, server
        templates = {t["uriTemplate"] for t in through["templates"]}
        assert {t["uriTemplate"] for t in direct_catalogue["templates"]} <= templates, server

    for server, tool, arguments in REPRESENTATIVE_CALLS:
        arguments = {k: v.replace("{root}", root) if isinstance(v, str) else v for k, v in arguments.items()}
        async with _direct_client(tmp_path, server) as direct:
            expected = dump(await direct.call_tool(tool, arguments))
        actual = dump(await gateway_client.call_tool(f"{server}__{tool}", arguments))
        assert actual == expected, f"{server}:{tool}"

    # A prompt and a resource of the everything server, read both ways.
    async with _direct_client(tmp_path, "everything") as direct:
        expected_prompt = dump(await direct.get_prompt("simple-prompt"))
        first_resource = (await direct.list_resources()).resources[0].uri
        expected_resource = dump(await direct.read_resource(first_resource))
    assert dump(await gateway_client.get_prompt("everything__simple-prompt")) == expected_prompt
    assert dump(await gateway_client.read_resource(first_resource)) == expected_resource


async def test_real_servers_through_the_http_front(tmp_path: Path, node_fixtures: Path) -> None:
    config = make_config(_servers(tmp_path, "gateway-memory.jsonl"))
    async with running_gateway(config) as gateway, http_front(gateway) as url:
        assert {b["name"]: b["state"] for b in gateway.readiness()["backends"]} == dict.fromkeys(
            ("time", "everything", "filesystem", "memory"), "up"
        )
        async with legacy_client(url) as client:
            await _check_against_direct(client, tmp_path)


async def test_real_servers_through_the_stdio_front(tmp_path: Path, node_fixtures: Path) -> None:
    config_path = write_config(tmp_path / "switchyard.json", _servers(tmp_path, "gateway-memory.jsonl"))
    async with legacy_client(gateway_stdio_params(config_path, tmp_path / "registry.db")) as client:
        await _check_against_direct(client, tmp_path)
