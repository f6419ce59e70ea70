"""admin-api: SEC-ADMIN-001 (authentication and authorization of every route) and SEC-ADMIN-003 (backend text is
data: escaped, and the admin responses carry the hardening headers). No dashboard exists yet (its part is listed in
unimplemented.yml)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.security.conftest import Case
from tests.security.world import ADMIN_API, World

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def routes(world: World) -> list[tuple[str, str]]:
    admin = world.peer("admin")
    spec = json.loads(admin.request("GET", f"{ADMIN_API}/openapi.json", headers=admin.headers(session=False)).text)
    found = []
    for path, operations in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "nothing-here", path).removeprefix(ADMIN_API)
        found += [(method.upper(), concrete) for method in operations if method.upper() in {"GET", *MUTATING}]
    return found


CREDENTIALS = ["none", "alice", "bob", "garbage_bearer", "query_token", "admin"]


@pytest.mark.case("SEC-ADMIN-001")
@pytest.mark.parametrize("credential", CREDENTIALS)
def test_every_admin_route_demands_an_admin_credential(world: World, case: Case, credential: str) -> None:
    statuses: dict[str, int] = {}
    for method, path in routes(world):
        headers = {"Content-Type": "application/json"}
        url = f"{ADMIN_API}{path}"
        if credential in ("alice", "bob", "admin"):
            headers["Authorization"] = f"Bearer {world.keys[credential]}"
        elif credential == "garbage_bearer":
            headers["Authorization"] = "Bearer sy_expired_0000000000000000000000000000000"
        elif credential == "query_token":
            url += f"?token={world.keys['admin']}&access_token={world.keys['admin']}"
        body: Any = {} if method in MUTATING else None
        if credential == "admin" and method in MUTATING:
            continue  # the admin's own mutations are exercised (and audited) by the SSRF and CONF-002 cases
        statuses[f"{method} {path}"] = world.peer("anonymous").request(method, url, body=body, headers=headers).status
    expected = {"alice": {403}, "bob": {403}, "admin": {200, 404}}.get(credential, {401})
    wrong = {route: status for route, status in statuses.items() if status not in expected}
    assert not wrong, f"{credential}: {wrong}"
    if credential != "admin":
        case.refused("admin_auth", "forbidden", "no_credentials", "invalid_key", "invalid_token", count=len(statuses))
    else:
        case.may_refuse("not_found")


XSS = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "data:image/svg+xml,<svg onload=alert(1)>",
]


@pytest.mark.case("SEC-ADMIN-003")
def test_backend_text_in_admin_responses_is_json_data_with_hardening_headers(world: World, case: Case) -> None:
    tool = {"name": "xss_tool", "description": " ".join(XSS), "title": XSS[0], "inputSchema": {"type": "object"}}
    world.set_evil({"extra_tools": [tool]})
    admin = world.peer("admin")
    for path in ("/tools", "/pins", "/servers/evil", "/audit"):
        reply = admin.request("GET", f"{ADMIN_API}{path}", headers=admin.headers(session=False))
        assert reply.status == 200
        assert reply.headers.get("content-type", "").startswith("application/json")
        assert reply.headers.get("x-content-type-options") == "nosniff"
        frame = reply.headers.get("x-frame-options", "").upper() == "DENY"
        assert frame or "frame-ancestors 'none'" in reply.headers.get("content-security-policy", "")
        json.loads(reply.text)
    world.set_evil({})
    case.may_refuse("poisoning_suspected", "pending_approval")


@pytest.mark.case("SEC-ADMIN-003")
def test_the_dashboard_escapes_backend_text(world: World, case: Case) -> None:
    admin = world.peer("admin")
    reply = admin.request("GET", "/admin/", headers={"Authorization": f"Bearer {world.keys['admin']}"})
    assert reply.status == 200, "no dashboard at /admin/"
    assert "<img src=x onerror" not in reply.text
    csp = reply.headers.get("content-security-policy", "")
    assert csp and "unsafe-inline" not in csp
