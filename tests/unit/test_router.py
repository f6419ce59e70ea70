from __future__ import annotations

from typing import Any

import pytest

from switchyard.catalogue import Catalogue, Listing, NamingPolicy
from switchyard.errors import GatewayError
from switchyard.pipeline import Call, Client, Requester
from switchyard.router import Router


def _catalogue() -> Catalogue:
    catalogue = Catalogue(NamingPolicy())
    catalogue.add_server("files", "files")
    catalogue.add_server("notes", "notes")
    catalogue.set_listing(
        "files",
        Listing(
            tools=[{"name": f"t{i}", "inputSchema": {"type": "object"}} for i in range(5)],
            resources=[{"uri": "file:///a", "name": "a"}],
            resource_templates=[{"uriTemplate": "file:///{+path}", "name": "any file"}],
        ),
    )
    catalogue.set_listing(
        "notes", Listing(prompts=[{"name": "summarise"}], resources=[{"uri": "note://1", "name": "n"}])
    )
    return catalogue


def test_pages_cover_the_aggregate_in_order_and_cursors_are_checked() -> None:
    router = Router(_catalogue(), {}, page_size=2)
    seen, cursor = [], None
    while True:
        page = router.list_page("tools/list", {"cursor": cursor} if cursor else None, lambda e: True)
        seen += [t["name"] for t in page["tools"]]
        cursor = page.get("nextCursor")
        if cursor is None:
            break
    assert seen == [f"files__t{i}" for i in range(5)]
    with pytest.raises(GatewayError) as bad:
        router.list_page("tools/list", {"cursor": "garbage!"}, lambda e: True)
    assert bad.value.reason.value == "invalid_cursor"
    prompt_cursor = router.list_page("tools/list", None, lambda e: True)["nextCursor"]
    with pytest.raises(GatewayError):
        router.list_page("prompts/list", {"cursor": prompt_cursor}, lambda e: True)  # a cursor is per list


def test_targets_resolve_names_uris_and_templates() -> None:
    router = Router(_catalogue(), {}, page_size=0)
    tool = router.target("tools/call", {"name": "files__t3"})
    assert (tool.server, tool.original_name) == ("files", "t3")
    assert router.target("prompts/get", {"name": "notes__summarise"}).original_name == "summarise"
    assert router.target("resources/read", {"uri": "note://1"}).server == "notes"
    assert router.target("resources/read", {"uri": "file:///etc/hosts"}).server == "files"  # via the template
    assert router.target("resources/read", {"uri": "gopher://x"}).server is None
    completion = router.target("completion/complete", {"ref": {"type": "ref/prompt", "name": "notes__summarise"}})
    assert (completion.server, completion.original_name) == ("notes", "summarise")
    assert router.target("tools/call", {"name": "nope"}).server is None
    with pytest.raises(GatewayError):
        router.target("tools/call", {"name": 42})


def test_a_catalogue_change_bumps_the_version_and_names_the_kinds() -> None:
    catalogue = _catalogue()
    seen: list[set[str]] = []
    catalogue.on_change(seen.append)
    version = catalogue.version
    catalogue.set_listing(
        "notes", Listing(prompts=[{"name": "summarise"}], resources=[{"uri": "note://1", "name": "n"}])
    )
    assert catalogue.version == version and seen == [], "an identical listing changes nothing"
    catalogue.set_listing("notes", Listing(prompts=[{"name": "other"}], resources=[{"uri": "note://1", "name": "n"}]))
    assert catalogue.version == version + 1 and seen == [{"prompts"}]


class _RecordingBackend:
    """Stands in for a backend connection: records what reaches it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def request(self, method: str, params: Any, **_: Any) -> dict[str, Any]:
        self.seen.append(method)
        return {}


async def test_a_shared_subscription_is_made_once_and_dropped_by_the_last_client() -> None:
    backend = _RecordingBackend()
    router = Router(_catalogue(), {"notes": backend}, page_size=0)  # type: ignore[dict-item]
    alice, bob = object(), object()

    async def send(method: str, who: object) -> None:
        params = {"uri": "note://1"}
        target = router.target(method, params)
        await router.forward(Call(method, params, Client("t", "t"), 1, target, Requester(who, print, {}, None)))

    await send("resources/subscribe", alice)
    await send("resources/subscribe", bob)
    assert backend.seen == ["resources/subscribe"]
    await send("resources/unsubscribe", alice)
    assert backend.seen == ["resources/subscribe"]
    assert router.subscribers["note://1"] == {bob}
    await send("resources/unsubscribe", bob)
    assert backend.seen == ["resources/subscribe", "resources/unsubscribe"]
    assert "note://1" not in router.subscribers
