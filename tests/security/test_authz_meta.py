"""authz/allowlist: SEC-AUTHZ-006, the meta-tools (alice's profile in search mode) used to reach forbidden tools."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.security.conftest import Case
from tests.security.world import World, assert_error

SEARCH, CALL = "search_tools", "call_tool"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = World(tmp_path_factory.mktemp("meta"), overrides={"profiles": {"basic": {"mode": "search"}}})
    try:
        world.start()
        yield world
    finally:
        world.stop()


def _refused_like_a_direct_call(answer: dict[str, Any], direct: dict[str, Any], reason: str) -> None:
    """The meta-tool refuses as the direct call does: the same JSON-RPC error, or a tool error with its message."""
    if "error" in answer:
        assert_error(answer, "POLICY_DENIED", reason)
        return
    assert answer["result"].get("isError") is True, f"served through the meta-tool: {json.dumps(answer)[:300]}"
    text = "".join(part.get("text", "") for part in answer["result"]["content"])
    assert text == direct["error"]["message"], f"{text!r} differs from the direct call's {direct['error']['message']!r}"


def _meta_call(world: World, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    alice = world.peer("alice")
    alice.initialize()
    listed = alice.tool_names()
    assert SEARCH in listed and CALL in listed, f"alice's profile should see the meta-tools: {listed}"
    return alice.call(CALL, {"name": name, "arguments": arguments}).message


FORBIDDEN = {
    "admin_tools__delete_all": ("tool_not_in_profile",),
    "secret_srv__dump_env": ("server_not_allowed", "unknown_tool", "unknown_server"),
    "files__write_file": ("tool_not_in_profile",),
}


@pytest.mark.case("SEC-AUTHZ-006")
@pytest.mark.parametrize("name", FORBIDDEN)
def test_call_tool_denies_what_a_direct_call_denies(world: World, case: Case, name: str) -> None:
    answer = _meta_call(world, name, {})
    direct = world.peer("alice").call(name).message
    assert_error(direct, "POLICY_DENIED", "not_allowed")
    _refused_like_a_direct_call(answer, direct, "not_allowed")
    case.refused(*FORBIDDEN[name], count=2)
    meta = world.wait_audit(lambda row: row["principal"] == "alice" and row["tool"] == name and row["via"] == "meta")
    assert meta, "the audit names the inner tool with via=meta"
    assert world.calls_received("admin_tools") == [] and world.starts("secret_srv") == []


@pytest.mark.case("SEC-AUTHZ-006")
def test_call_tool_applies_the_argument_rules(world: World, case: Case) -> None:
    before = len(world.calls_received("files"))
    answer = _meta_call(world, "files__read_file", {"path": "/etc/passwd"})
    direct = world.peer("alice").call("files__read_file", {"path": "/etc/passwd"}).message
    assert_error(direct, "POLICY_DENIED", "argument_not_allowed")
    _refused_like_a_direct_call(answer, direct, "argument_not_allowed")
    case.refused("argument_not_allowed", count=2)
    assert len(world.calls_received("files")) == before


@pytest.mark.case("SEC-AUTHZ-006")
@pytest.mark.parametrize("depth", [1, 3])
def test_call_tool_calling_itself_is_refused(world: World, case: Case, depth: int) -> None:
    inner: dict[str, Any] = {"name": "echo__echo", "arguments": {"text": "deep"}}
    for _ in range(depth):
        inner = {"name": CALL, "arguments": inner}
    answer = _meta_call(world, inner["name"], inner["arguments"])
    assert "error" in answer or answer["result"].get("isError"), f"recursion was served: {json.dumps(answer)[:300]}"
    if "error" in answer:
        case.may_refuse("tool_not_in_profile", "unknown_tool", "not_allowed", "invalid_params", "recursion")


@pytest.mark.case("SEC-AUTHZ-006")
@pytest.mark.parametrize("query", ["dump env secret", "delete all", "secret_srv", "admin_tools delete_all"])
def test_search_never_returns_forbidden_tools(world: World, case: Case, query: str) -> None:
    alice = world.peer("alice")
    alice.initialize()
    for arguments in ({"query": query, "limit": 20}, {"query": query, "server": "admin_tools"}):
        found = alice.call(SEARCH, arguments).message["result"].get("structuredContent", {}).get("tools", [])
        forbidden = [
            t["name"] for t in found if t["server"] in ("secret_srv", "admin_tools") or t["tool"] == "write_file"
        ]
        assert forbidden == [], f"search offered forbidden tools: {forbidden}"
