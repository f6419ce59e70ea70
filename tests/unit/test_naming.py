from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from switchyard.naming import NameRequest, assign, fit, prefixed

SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def test_prefixed_names_are_safe_and_bounded() -> None:
    assert prefixed("time", "get_current_time", "__", 64) == "time__get_current_time"
    assert prefixed("my.server", "admin.tools.list", "__", 64) == "my_server__admin_tools_list"
    long = prefixed("server", "x" * 200, "__", 64)
    assert len(long) == 64 and SAFE.match(long)
    assert long == prefixed("server", "x" * 200, "__", 64), "the hash suffix is stable"
    assert long != prefixed("server", "x" * 199 + "y", "__", 64)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=200))
def test_any_prefixed_name_fits_the_model_api_pattern(server: str, tool: str) -> None:
    assert SAFE.match(prefixed(server, tool, "__", 64))


def test_fit_leaves_short_names_alone() -> None:
    assert fit("short", 64) == "short"


def _requests() -> list[NameRequest]:
    return [
        NameRequest("a", "a", "echo"),
        NameRequest("a", "a", "only_a"),
        NameRequest("b", "b", "echo"),
        NameRequest("b", "b", "only_b"),
    ]


def test_auto_prefixes_only_colliding_names() -> None:
    names, collisions = assign(_requests(), mode="auto", separator="__", max_length=64)
    assert names == {
        ("a", "echo"): "a__echo",
        ("a", "only_a"): "only_a",
        ("b", "echo"): "b__echo",
        ("b", "only_b"): "only_b",
    }
    assert [(c.name, c.servers) for c in collisions] == [("echo", ("a", "b"))]


def test_none_keeps_the_first_server_and_reports_the_collision() -> None:
    names, collisions = assign(_requests(), mode="none", separator="__", max_length=64)
    assert names[("a", "echo")] == "echo" and ("b", "echo") not in names
    assert collisions and collisions[0].servers == ("a", "b")


def test_prefixed_names_that_sanitise_alike_stay_distinct() -> None:
    requests = [NameRequest("s", "s", "a.b"), NameRequest("s", "s", "a_b")]
    names, _ = assign(requests, mode="prefix", separator="__", max_length=64)
    assert len(set(names.values())) == 2


def test_reserved_names_are_prefixed_in_every_mode() -> None:
    """A backend tool named like a meta-tool never shadows it, whatever the naming mode."""
    requests = [NameRequest("a", "a", "search_tools"), NameRequest("a", "a", "echo")]
    reserved = frozenset({"search_tools", "call_tool"})
    for mode in ("prefix", "none", "auto"):
        names, _ = assign(requests, mode=mode, separator="__", max_length=64, reserved=reserved)
        assert names[("a", "search_tools")] == "a__search_tools", mode
        assert names[("a", "echo")] == ("a__echo" if mode == "prefix" else "echo"), mode
    # A prefixed name that happens to spell a reserved one is moved aside too.
    clash = [NameRequest("call", "call", "tool")]
    names, _ = assign(clash, mode="prefix", separator="_", max_length=64, reserved=reserved)
    assert names[("call", "tool")] not in reserved
