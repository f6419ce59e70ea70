"""Server, tool and argument rules: layers, deny wins, and the path and URL checks against encoding tricks."""

from __future__ import annotations

from typing import Any

import pytest

from switchyard.config import Config, UrlRule
from switchyard.pipeline.arguments import path_under, url_within
from switchyard.pipeline.profiles import Profiles


def _profiles(data: dict[str, Any]) -> Profiles:
    return Profiles(Config.model_validate(data))


# -- servers and tools


def test_a_profile_narrows_the_top_level_policies_and_deny_wins() -> None:
    profiles = _profiles(
        {
            "policies": {"servers": {"allow": ["echo", "files", "admin_tools"]}, "tools": {"deny": ["*:drop_*"]}},
            "profiles": {
                "basic": {"tools": {"allow": ["echo__echo", "files__read_file", "files:drop_all"]}},
                "wide": {"servers": {"allow": ["*"]}},
            },
        }
    )
    basic = profiles.of("basic").allowlist
    assert basic.check("echo", "echo", "echo__echo").allowed
    assert basic.check("files", "read_file", "files__read_file").allowed
    hidden = basic.check("admin_tools", "delete_all", "admin_tools__delete_all")
    assert (hidden.allowed, hidden.reason) == (False, "tool_not_in_profile")
    assert hidden.rule == "profiles.basic.tools.allow: no pattern matches"
    # The top-level deny beats the profile's allow.
    denied = basic.check("files", "drop_all", "files__drop_all")
    assert (denied.allowed, denied.reason, denied.rule) == (False, "tool_denied", "policies.tools.deny: *:drop_*")
    # A profile cannot widen the top-level server allowlist.
    wide = profiles.of("wide").allowlist.check("secret_srv")
    assert (wide.allowed, wide.reason) == (False, "server_not_allowed")
    assert wide.rule == "policies.servers.allow: no pattern matches"
    # No profile: the top-level policies alone.
    assert profiles.of(None).allowlist.check("admin_tools", "delete_all", "admin_tools__delete_all").allowed


def test_a_profile_that_is_not_configured_sees_nothing() -> None:
    profiles = _profiles({"profiles": {"basic": {}}})
    verdict = profiles.of("nosuch").allowlist.check("echo", "echo", "echo__echo")
    assert not verdict.allowed and verdict.reason == "server_not_allowed"


def test_profile_mode_and_limits_fall_back_to_the_top_level() -> None:
    profiles = _profiles(
        {
            "search": {"mode": "search"},
            "limits": {"rate": 20, "max_inflight": 16},
            "profiles": {"basic": {"mode": "all", "limits": {"rate": 5}}, "plain": {}},
        }
    )
    basic, plain = profiles.of("basic"), profiles.of("plain")
    assert (basic.mode, basic.limits.rate, basic.limits.burst, basic.limits.max_inflight) == ("all", 5, 10, 16)
    assert (plain.mode, plain.limits.rate, plain.limits.burst) == ("search", 20, 40)


# -- arguments

ROOT = "/srv/data"
TRAVERSALS = [
    "/srv/data/../../etc/passwd",
    "/srv/data/%2e%2e/%2e%2e/etc/passwd",
    "/srv/data/..%2f..%2fetc/passwd",
    "/srv/data//../secret",
    "/srv/data/./../../root/.ssh/id_rsa",
    "/srv/database/dump.sql",  # a prefix without a segment boundary
    "\\\\srv\\\\data\\\\..\\\\..\\\\etc\\\\passwd",
    "\\srv\\data\\..\\..\\etc\\passwd",
    "../etc/passwd",
    "/srv/data/%252e%252e/%252e%252e/etc/passwd",  # double encoding: still encoded after one decode
    "/srv/data/\x00/../../etc/passwd",
    "/srv/data/%00",
    "/srv/data/%ff%fe",  # not UTF-8 once decoded
    "srv/data/report.txt",  # relative
    "~/secret",
    "/srv",
    "",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversals_are_refused(path: str) -> None:
    assert path_under([ROOT])(path) is not None


@pytest.mark.parametrize(
    "path", ["/srv/data/report.txt", "/srv/data", "/srv/data/", "//srv/data/a/b", "/srv/data/a/./b/../c.txt"]
)
def test_paths_under_the_root_pass(path: str) -> None:
    assert path_under([ROOT, "/tmp/other/"])(path) is None


def test_a_path_must_be_a_string() -> None:
    assert path_under([ROOT])(["/srv/data/x"]) == "must be a string"
    assert path_under(["/"])("/anything/at/all") is None


URL_RULE = UrlRule(schemes=["https"], hosts=["example.test", "*.docs.test"], ports=[443])


@pytest.mark.parametrize(
    "url",
    [
        "http://example.test/",  # scheme
        "https://example.test:8443/",  # port
        "https://example.test@127.0.0.1/",  # userinfo: the real host is 127.0.0.1
        "https://user:pw@example.test/",
        "https://127.0.0.1/",
        "https://2130706433/",  # 127.0.0.1 as one decimal number
        "https://0x7f.1/",
        "https://017700000001/",
        "https://[::1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://example.test.evil.test/",
        "https://evilexample.test/",
        "https://docs.test/",  # *.docs.test is for subdomains only
        "https://%65xample.test/",
        "https://ex\u0430mple.test/",  # a Cyrillic a
        "https://example.test\\@evil.test/",
        "https://example.test /",
        "file:///etc/passwd",
        "https://example.test:99999/",
        "//example.test/",
        "example.test",
        "",
    ],
)
def test_urls_outside_the_rule_are_refused(url: str) -> None:
    assert url_within(URL_RULE)(url) is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://example.test/",
        "https://EXAMPLE.test./path?q=1#f",
        "https://example.test:443/x",
        "https://api.docs.test/v1",
    ],
)
def test_urls_inside_the_rule_pass(url: str) -> None:
    assert url_within(URL_RULE)(url) is None


def test_argument_rules_of_both_layers_apply_and_name_the_rule() -> None:
    profiles = _profiles(
        {
            "policies": {"arguments": {"files__*": {"path": {"path_under": ["/srv"]}}}},
            "profiles": {
                "basic": {
                    "arguments": {
                        "files:read_file": {"path": {"path_under": ["/srv/data"]}},
                        "web__fetch": {"url": {"url": {"hosts": ["example.test"]}}},
                        "echo__echo": {"text": {"max_length": 5, "pattern": "[a-z]*"}, "mode": {"enum": [1, "x"]}},
                    }
                }
            },
        }
    )
    rules = profiles.of("basic").arguments
    refusal = rules.refusal("files", "read_file", "files__read_file", {"path": "/srv/other/x"})
    assert refusal is not None and refusal.argument == "path"
    assert refusal.rule == "profiles.basic.arguments.files:read_file.path.path_under"
    outside = rules.refusal("files", "read_file", "files__read_file", {"path": "/etc/passwd"})
    assert outside is not None and outside.rule == "policies.arguments.files__*.path.path_under"
    assert rules.refusal("files", "read_file", "files__read_file", {"path": "/srv/data/a"}) is None
    assert rules.refusal("files", "read_file", "files__read_file", {}) is None  # absent: not checked
    # A list is checked item by item.
    many = rules.refusal("files", "read_file", "files__read_file", {"path": ["/srv/data/a", "/etc/shadow"]})
    assert many is not None
    fetch = rules.refusal("web", "fetch", "web__fetch", {"url": "https://evil.test/"})
    assert fetch is not None and fetch.why == "host evil.test is not allowed"
    assert rules.refusal("echo", "echo", "echo__echo", {"text": "abc", "mode": 1}) is None
    assert rules.refusal("echo", "echo", "echo__echo", {"text": "abcdef"}) is not None
    assert rules.refusal("echo", "echo", "echo__echo", {"text": "ABC"}) is not None
    assert rules.refusal("echo", "echo", "echo__echo", {"text": "a", "mode": True}) is not None  # not the number 1
    # The default profile has only the top-level rule.
    assert profiles.of(None).arguments.refusal("files", "read_file", "files__read_file", {"path": "/srv/x"}) is None
