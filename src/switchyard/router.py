"""Public names to backends: resolves what a request is for, forwards it, and pages aggregate lists."""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from switchyard.catalogue import Catalogue, Entry
from switchyard.errors import GatewayError, Reason
from switchyard.pipeline.base import Call, Requester, Target
from switchyard.tasks import TASK_METHODS, TaskTable
from switchyard.upstream.backend import Backend

Visible = Callable[[Entry], bool]

# list method -> (catalogue attribute, result key)
LISTS = {
    "tools/list": ("tools", "tools"),
    "prompts/list": ("prompts", "prompts"),
    "resources/list": ("resources", "resources"),
    "resources/templates/list": ("templates", "resourceTemplates"),
}
ROUTED = frozenset(
    {
        "tools/call",
        "prompts/get",
        "resources/read",
        "resources/subscribe",
        "resources/unsubscribe",
        "completion/complete",
    }
    | TASK_METHODS
)


class Router:
    def __init__(
        self,
        catalogue: Catalogue,
        backends: Mapping[str, Backend],
        *,
        page_size: int,
        backend_for: Callable[[str, Requester | None], Backend] | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._backend_for = backend_for or (lambda server, _: backends[server])
        self.tasks = TaskTable()
        self._page_size = page_size
        # Backend sessions are shared: a URI stays subscribed upstream while any client wants it.
        self.subscribers: dict[str, set[Any]] = {}

    def target(self, method: str, params: dict[str, Any]) -> Target:
        """What a routed request is for; `server` is None when nothing of that name exists."""
        if method == "tools/call":
            name = _name(params, "name")
            return _target("tool", name, self._catalogue.tool(name) or self._catalogue.departed("tools", name))
        if method == "prompts/get":
            name = _name(params, "name")
            return _target("prompt", name, self._catalogue.prompt(name) or self._catalogue.departed("prompts", name))
        if method in TASK_METHODS:
            task_id = _name(params, "taskId")
            return Target("task", task_id)  # resolved in forward(), where the requesting session is known
        if method == "completion/complete":
            ref = params.get("ref")
            if not isinstance(ref, dict):
                raise GatewayError(Reason.INVALID_PARAMS, 'Invalid params: "ref" must be an object')
            if ref.get("type") == "ref/prompt":
                return _target("prompt", _name(ref, "name"), self._catalogue.prompt(ref.get("name", "")))
            uri = _name(ref, "uri")
            return _target("resource", uri, self._catalogue.template(uri) or self._catalogue.resource_owner(uri))
        uri = _name(params, "uri")
        return _target("resource", uri, self._catalogue.resource_owner(uri))

    async def forward(self, call: Call) -> dict[str, Any]:
        """The pipeline's terminal handler: rewrite the public name to the backend's and send."""
        target = call.target
        requester = call.requester
        owner = requester.session if requester is not None else None
        if target.kind == "task":
            return await self._forward_task(call, owner)
        if target.server is None:
            raise GatewayError.unknown(target.kind, target.public_name)
        if call.method in ("resources/subscribe", "resources/unsubscribe") and not self._needs_upstream(call):
            return {}
        params = call.params
        if target.public_name != target.original_name:
            if call.method == "completion/complete":
                params = {**params, "ref": {**params["ref"], "name": target.original_name}}
            elif target.kind != "resource":
                params = {**params, "name": target.original_name}
        result = await self._send(target.server, call.method, params, requester)
        return self.tasks.adopt(target.server, owner, result) if call.method == "tools/call" else result

    async def _forward_task(self, call: Call, owner: Any) -> dict[str, Any]:
        public_id = call.target.public_name
        ref = self.tasks.find(public_id, owner)
        if ref is None:
            raise GatewayError.unknown("task", public_id)
        params = {**call.params, "taskId": ref.task_id}
        result = await self._send(ref.server, call.method, params, call.requester)
        return self.tasks.publish(ref, public_id, result)

    async def _send(
        self, server: str, method: str, params: dict[str, Any], requester: Requester | None
    ) -> dict[str, Any]:
        return await self._backend_for(server, requester).request(
            method,
            params,
            owner=requester,
            on_progress=requester.related if requester is not None else None,
            client_capabilities=requester.capabilities if requester is not None else None,
            log_level=requester.log_level if requester is not None else None,
        )

    def _needs_upstream(self, call: Call) -> bool:
        """Record the (un)subscription; True when the backend must hear of it (first in, last out)."""
        subscriber = call.requester.session if call.requester is not None else None
        uri = call.target.public_name
        if call.method == "resources/subscribe":
            others = self.subscribers.setdefault(uri, set())
            first = not others
            others.add(subscriber)
            return first
        remaining = self.subscribers.get(uri, set())
        remaining.discard(subscriber)
        if remaining:
            return False
        self.subscribers.pop(uri, None)
        return True

    def forget_subscriber(self, subscriber: Any) -> None:
        for uri in [u for u, who in self.subscribers.items() if subscriber in who]:
            self.subscribers[uri].discard(subscriber)
            if not self.subscribers[uri]:
                del self.subscribers[uri]

    def list_page(self, method: str, params: dict[str, Any] | None, visible: Visible) -> dict[str, Any]:
        attribute, key = LISTS[method]
        definitions = [e.definition for e in getattr(self._catalogue, attribute) if visible(e)]
        return self.page(method, key, definitions, params)

    def page(
        self, method: str, key: str, definitions: list[dict[str, Any]], params: dict[str, Any] | None
    ) -> dict[str, Any]:
        offset = _decode_cursor((params or {}).get("cursor"), method)
        end = offset + self._page_size if self._page_size > 0 else len(definitions)
        result: dict[str, Any] = {key: definitions[offset:end]}
        if end < len(definitions):
            result["nextCursor"] = _encode_cursor(method, end)
        return result


def _name(params: dict[str, Any], field: str) -> str:
    value = params.get(field)
    if not isinstance(value, str):
        raise GatewayError(Reason.INVALID_PARAMS, f'Invalid params: "{field}" must be a string')
    return value


def _target(kind: str, name: str, entry: Entry | None) -> Target:
    if entry is None:
        return Target(kind, name)
    return Target(kind, name, entry.server, entry.original_name if kind != "resource" else name)


def _encode_cursor(method: str, offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"m": method, "o": offset})).decode().rstrip("=")


def _decode_cursor(cursor: object, method: str) -> int:
    if cursor is None:
        return 0
    data: Any = None
    if isinstance(cursor, str):
        with contextlib.suppress(ValueError, binascii.Error):
            data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    if isinstance(data, dict) and data.get("m") == method and isinstance(data.get("o"), int) and data["o"] >= 0:
        return int(data["o"])
    raise GatewayError(Reason.INVALID_CURSOR, f"Invalid cursor: {cursor!r}")
