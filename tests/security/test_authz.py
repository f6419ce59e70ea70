"""authz/allowlist: SEC-AUTHZ-001, -002, -004 (SEC-AUTHZ-006, the meta-tools, is in test_authz_meta.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.security.conftest import Case
from tests.security.stdio import StdioGateway
from tests.security.world import World, assert_error, tool_text

SERVER_NOT_ALLOWED = ("server_not_allowed", "unknown_tool", "unknown_server", "tool_not_in_profile")
# The case's call, and unseen spellings of the same forbidden server that must not reach it either.
SECRET_NAMES = ["secret_srv__dump_env", "SECRET_SRV__dump_env", "secret_srv__DUMP_ENV", "secret_srv__dump_env "]


@pytest.mark.case("SEC-AUTHZ-001")
@pytest.mark.parametrize("name", SECRET_NAMES)
def test_a_server_outside_the_allowlist_is_never_reached_over_http(world: World, case: Case, name: str) -> None:
    alice = world.peer("alice")
    alice.initialize()
    reply = alice.call(name)
    assert reply.status == 200
    assert_error(reply.message, "POLICY_DENIED", "not_allowed")
    case.refused(*SERVER_NOT_ALLOWED)
    assert world.starts("secret_srv") == [], "secret_srv was spawned"
    assert not [tool for tool in alice.tool_names() if tool.lower().startswith("secret_srv")]


@pytest.mark.case("SEC-AUTHZ-001")
def test_a_server_outside_the_allowlist_is_never_reached_over_stdio(
    world: World, case: Case, stdio: StdioGateway
) -> None:
    answer = stdio.call("secret_srv__dump_env")
    assert_error(answer, "POLICY_DENIED", "not_allowed")
    case.refused(*SERVER_NOT_ALLOWED)
    listed = stdio.request("tools/list", {})["result"]["tools"]
    assert not [tool for tool in listed if tool["name"].startswith("secret_srv")]
    assert world.starts("secret_srv") == [], "secret_srv was spawned"


def _comparable(message: dict[str, Any], name: str) -> str:
    error = dict(message["error"])
    error["data"] = {k: v for k, v in error.get("data", {}).items() if k != "request_id"}
    return json.dumps(error, sort_keys=True).replace(json.dumps(name)[1:-1], "<name>")


HIDDEN_OR_ABSENT = {
    # the case's three, and unseen ones of the same class
    "admin_tools__delete_all": "tool_not_in_profile",
    "echo__does_not_exist": "unknown_tool",
    "nosuchserver__x": "unknown_server",
    "files__write_file": "tool_not_in_profile",  # another profile's tool
    "admin_tools__": "unknown_tool",
    "__delete_all": "unknown_server",
}


@pytest.mark.case("SEC-AUTHZ-002")
def test_a_hidden_tool_answers_exactly_like_a_missing_one(world: World, case: Case) -> None:
    alice = world.peer("alice")
    alice.initialize()
    answers = {}
    for name in HIDDEN_OR_ABSENT:
        reply = alice.call(name)
        assert reply.status == 200
        assert_error(reply.message, "POLICY_DENIED", "not_allowed")
        answers[name] = _comparable(reply.message, name)
    assert len(set(answers.values())) == 1, f"the answers differ: {answers}"
    assert world.calls_received("admin_tools") == []
    assert not [c for c in world.calls_received("files") if c["params"]["name"] == "write_file"]
    for reason in set(HIDDEN_OR_ABSENT.values()):
        case.refused(reason, count=list(HIDDEN_OR_ABSENT.values()).count(reason))


TRAVERSALS = [
    "/srv/data/../../etc/passwd",
    "/srv/data/%2e%2e/%2e%2e/etc/passwd",
    "/srv/data/..%2f..%2fetc/passwd",
    "/srv/data//../secret",
    "/srv/data/./../../root/.ssh/id_rsa",
    "/srv/database/dump.sql",
    "\\\\srv\\\\data\\\\..\\\\..\\\\etc\\\\passwd",
    "../etc/passwd",
    # unseen variants of the same class
    "/srv/data/..",
    "/srv/data/sub/../../etc/passwd",
    "/srv/data/%2E%2E/secret",
    "/srv/data\u0000/../../etc/passwd",
    "/SRV/DATA/../../etc/passwd",
    "/srv/data/.%2e/.%2e/etc/passwd",
    "srv/data/report.txt",
    "file:///srv/data/../../etc/passwd",
]


@pytest.mark.case("SEC-AUTHZ-004")
@pytest.mark.parametrize("path", TRAVERSALS, ids=lambda p: re.sub(r"[^A-Za-z0-9.%]+", "_", p) or "empty")
def test_a_path_outside_the_root_is_denied_for_the_argument(world: World, case: Case, path: str) -> None:
    alice = world.peer("alice")
    alice.initialize()
    before = len(world.calls_received("files"))
    reply = alice.call("files__read_file", {"path": path})
    assert reply.status == 200
    assert_error(reply.message, "POLICY_DENIED", "argument_not_allowed")
    assert reply.error["data"].get("argument") == "path"
    case.refused("argument_not_allowed")
    assert len(world.calls_received("files")) == before


@pytest.mark.case("SEC-AUTHZ-004")
@pytest.mark.parametrize(
    "value",
    [["/etc/passwd"], ["/srv/data/a", "/etc/passwd"], 5, None, {"path": "/etc/passwd"}],
    ids=["list", "list_mixed", "int", "null", "obj"],
)
def test_a_path_that_is_not_a_string_is_denied(world: World, case: Case, value: Any) -> None:
    alice = world.peer("alice")
    alice.initialize()
    before = len(world.calls_received("files"))
    reply = alice.call("files__read_file", {"path": value})
    assert_error(reply.message, "POLICY_DENIED", "argument_not_allowed")
    case.refused("argument_not_allowed")
    assert len(world.calls_received("files")) == before


@pytest.mark.case("SEC-AUTHZ-004")
def test_a_path_under_the_root_is_served(world: World, case: Case) -> None:
    alice = world.peer("alice")
    alice.initialize()
    reply = alice.call("files__read_file", {"path": "/srv/data/report.txt"})
    assert tool_text(reply.message) == "contents of /srv/data/report.txt"
    assert world.calls_received("files")[-1]["params"]["arguments"] == {"path": "/srv/data/report.txt"}
