"""egress/ssrf: SEC-SSRF-001 (a backend's 401 points at an internal address), SEC-SSRF-003 (admin-registered URLs)."""

from __future__ import annotations

import pytest

from tests.security.conftest import Case
from tests.security.world import ADMIN_API, World, assert_error


def _metadata_urls(world: World) -> dict[str, str]:
    assert world.sink is not None
    return {
        "case_internal_sink": f"{world.sink.url}/latest/meta-data/iam",
        # unseen variants of the same class
        "localhost_name": f"http://localhost:{world.sink.port}/.well-known/oauth-protected-resource",
        "decimal_loopback": f"http://2130706433:{world.sink.port}/",
        "link_local": "http://169.254.169.254/latest/meta-data/iam",
    }


@pytest.mark.case("SEC-SSRF-001")
@pytest.mark.parametrize("variant", ["case_internal_sink", "localhost_name", "decimal_loopback", "link_local"])
def test_a_backends_resource_metadata_is_not_fetched_from_an_internal_address(
    world: World, case: Case, variant: str
) -> None:
    alice = world.peer("alice")
    alice.initialize()
    assert world.sink is not None
    before = len(world.sink.requests)
    with world.evil_scripted({"http": "unauthorized", "metadata_url": _metadata_urls(world)[variant]}):
        answer = alice.call("evil_http__echo", {"text": "x"}, timeout=20).message
    assert world.sink.requests[before:] == [], "internal_sink was contacted"
    assert_error(answer, "BACKEND_UNAVAILABLE", "auth_failed")
    case.refused("auth_failed")


INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://2852039166/",
    "http://0x7f.1:8931/admin/api/servers",
    "http://127.1:9999/",
    "http://localhost.:9999",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "http://user:pass@example.test@127.0.0.1:9999/",
    # unseen variants of the same class
    "http://[::1]:9999/",
    "http://0177.0.0.1:9999/",
    "http://10.0.0.1/",
    "http://[fd00::1]/",
    "http://0.0.0.0:9999/",
]


@pytest.mark.case("SEC-SSRF-003")
@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_admin_registered_internal_url_is_refused_before_any_request(world: World, case: Case, url: str) -> None:
    assert world.sink is not None
    admin = world.peer("admin")
    target = url.replace(":9999", f":{world.sink.port}")
    body = {"name": "probe", "type": "http", "url": target}
    reply = admin.request("POST", f"{ADMIN_API}/servers", body=body, headers=admin.headers(session=False))
    assert reply.status == 422, reply.text[:300]
    assert "url" in reply.text
    assert world.sink.requests == []
    case.refused("egress_denied", "invalid")
