"""`subscriptions/listen` for 2026-07-28 clients: one long-lived request whose stream carries the list changes
and resource updates the client opted in to, each tagged with the listen request's id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from switchyard.errors import GatewayError, Reason
from switchyard.protocol import jsonrpc
from switchyard.protocol.jsonrpc import Message, RequestId

SUBSCRIPTION_ID_META_KEY = "io.modelcontextprotocol/subscriptionId"
# filter flag -> (capability it needs, the catalogue kinds it covers, the notification it sends)
LIST_FLAGS = {
    "toolsListChanged": ("tools", ("tools",), "notifications/tools/list_changed"),
    "promptsListChanged": ("prompts", ("prompts",), "notifications/prompts/list_changed"),
    "resourcesListChanged": ("resources", ("resources", "resourceTemplates"), "notifications/resources/list_changed"),
}


class ListenStream:
    """One open listen request: what it asked for, and where its notifications go."""

    def __init__(self, subscription_id: RequestId, send: Callable[[Message], None]) -> None:
        self.subscription_id = subscription_id
        self._send = send
        self.kinds: set[str] = set()
        self.uris: list[str] = []

    def notify(self, message: Message) -> None:
        """A resource update (the router's subscriber interface), or a list change, tagged for this stream."""
        params = dict(message.get("params") or {})
        params["_meta"] = {**(params.get("_meta") or {}), SUBSCRIPTION_ID_META_KEY: self.subscription_id}
        self._send(jsonrpc.notification(message["method"], params))

    def on_catalogue_change(self, kinds: set[str]) -> None:
        for _, (_, covered, method) in LIST_FLAGS.items():
            if self.kinds & set(covered) and kinds & set(covered):
                self.notify(jsonrpc.notification(method))


def honoured_filter(requested: Any, capabilities: dict[str, Any]) -> tuple[dict[str, Any], set[str], list[str]]:
    """The subset of a listen filter the gateway will honour, the catalogue kinds and URIs it covers."""
    if not isinstance(requested, dict):
        raise GatewayError(Reason.INVALID_PARAMS, 'Invalid params: "notifications" must be an object')
    honoured: dict[str, Any] = {}
    kinds: set[str] = set()
    for flag, (capability, covered, _) in LIST_FLAGS.items():
        if requested.get(flag) is True and capability in capabilities:
            honoured[flag] = True
            kinds.update(covered)
    uris = requested.get("resourceSubscriptions")
    subscribed: list[str] = []
    if isinstance(uris, list) and (capabilities.get("resources") or {}).get("subscribe"):
        subscribed = [u for u in uris if isinstance(u, str)]
        honoured["resourceSubscriptions"] = subscribed
    return honoured, kinds, subscribed


async def hold_open() -> None:
    """A listen request ends only when the client goes away (or the gateway stops)."""
    await anyio.sleep_forever()
