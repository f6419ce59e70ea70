"""The gateway's own tools: `search_tools` finds tools in the catalogue, `call_tool` calls one of them.

`MetaTools` is a pipeline policy. It answers calls to the meta-tools itself and passes everything else on;
`call_tool` re-enters the whole chain with the call it names, so that call is allowed, limited and audited
exactly like a direct one. Problems with a meta-tool's arguments come back as tool errors (`isError`), which
the model reads and can correct, rather than as protocol errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from switchyard.catalogue import Catalogue, Entry
from switchyard.config import SearchConfig
from switchyard.errors import BackendError, GatewayError
from switchyard.pipeline.base import Call, Client, Handler, Target
from switchyard.protocol.schemas import schema_validator
from switchyard.search.catalogue_index import CatalogueIndex
from switchyard.search.index import Hit

MAX_LIMIT = 50
_TEXT_DESCRIPTION_LENGTH = 160  # the text rendering shortens descriptions; structuredContent has them whole

ToolVisibility = Callable[[Client, Entry], bool]


def metatool_definitions(settings: SearchConfig) -> list[dict[str, Any]]:
    """The meta-tools as a client sees them in tools/list."""
    return [
        {
            "name": settings.search_tool_name,
            "description": (
                "Find the tools for a task among all the tools available here (most are not listed). Describe "
                "the task in plain words; each match comes with its name and input schema. Call a match with "
                f"{settings.call_tool_name}, or directly by name if it is listed."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "The task, in plain words"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 5},
                    "server": {"type": "string", "description": "Only tools of this server"},
                },
                "required": ["query"],
            },
            "annotations": {"title": "Search tools", "readOnlyHint": True, "openWorldHint": False},
        },
        {
            "name": settings.call_tool_name,
            "description": (
                f"Call a tool found with {settings.search_tool_name}: its name as returned, and arguments "
                "that match its input schema."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "The tool's name"},
                    "arguments": {"type": "object", "description": "The tool's arguments"},
                },
                "required": ["name"],
            },
            "annotations": {"title": "Call a tool"},
        },
    ]


class ArgumentProblem(Exception):
    """A meta-tool was called with arguments it cannot use; the message says which and why."""


class MetaTools:
    def __init__(
        self,
        settings: SearchConfig,
        catalogue: Catalogue,
        index: CatalogueIndex,
        visible: ToolVisibility,
        resolve: Callable[[str, dict[str, Any]], Target],
        call_tool: Handler,
    ) -> None:
        self.search_name = settings.search_tool_name
        self.call_name = settings.call_tool_name
        self.names = frozenset({self.search_name, self.call_name})
        self._catalogue = catalogue
        self._index = index
        self._visible = visible
        self._resolve = resolve  # the router's public name -> backend
        self._call_tool = call_tool  # the whole chain, entered again for the tool `call_tool` names

    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]:
        target = call.target
        if call.method != "tools/call" or target.server is not None or target.public_name not in self.names:
            return await call_next(call)
        arguments = call.params.get("arguments")
        try:
            if arguments is None:
                arguments = {}
            elif not isinstance(arguments, dict):
                raise ArgumentProblem(f'"arguments" must be an object, not {_json_type(arguments)}')
            if target.public_name == self.search_name:
                return await self.search(call.client, arguments)
            return await self._call(call, arguments)
        except ArgumentProblem as exc:
            return tool_error(f"{target.public_name}: {exc}")

    async def search(self, client: Client, arguments: Mapping[str, Any]) -> dict[str, Any]:
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ArgumentProblem('"query" must be a non-empty string describing the task')
        limit = arguments.get("limit", 5)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise ArgumentProblem(f'"limit" must be an integer from 1 to {MAX_LIMIT}, not {limit!r}')
        server = arguments.get("server")
        if server is not None and not isinstance(server, str):
            raise ArgumentProblem(f'"server" must be a string, not {_json_type(server)}')

        def allowed(name: str) -> bool:
            entry = self._catalogue.tool(name)
            return entry is not None and self._visible(client, entry)

        hits = await self._index.search(query, limit, server=server, allowed=allowed)
        tools = [_found(hit) for hit in hits]
        return {
            "content": [{"type": "text", "text": _render(query, tools, self.call_name)}],
            "structuredContent": {"tools": tools},
        }

    async def _call(self, call: Call, arguments: Mapping[str, Any]) -> dict[str, Any]:
        name = arguments.get("name")
        if not isinstance(name, str) or not name:
            raise ArgumentProblem('"name" must be the name of a tool, as search returned it')
        if name == self.call_name:
            raise ArgumentProblem(f"{self.call_name} cannot call itself")
        inner_arguments = arguments.get("arguments", {})
        if not isinstance(inner_arguments, dict):
            raise ArgumentProblem(f'"arguments" of {name} must be an object, not {_json_type(inner_arguments)}')
        entry = self._catalogue.tool(name)
        if entry is not None and self._visible(call.client, entry):
            _check_arguments(name, entry.definition.get("inputSchema"), inner_arguments)
        # Progress tokens and task augmentation belong to the inner call: the client asked for them on this one.
        params = {"name": name, "arguments": inner_arguments}
        params.update({k: v for k, v in call.params.items() if k in ("_meta", "task")})
        target = self._resolve("tools/call", params)
        inner = Call("tools/call", params, call.client, call.request_id, target, call.requester)
        try:
            return await self._call_tool(inner)
        except GatewayError as exc:  # unknown, refused, unavailable: the model can act on the message
            return tool_error(exc.message)
        except BackendError as exc:
            return tool_error(f"{name}: {exc.error.get('message', 'the backend refused the call')}")


def tool_error(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


def _found(hit: Hit) -> dict[str, Any]:
    document = hit.document
    return {
        "name": document.name,
        "server": document.server,
        "tool": document.tool,
        "description": document.description,
        "inputSchema": dict(document.input_schema),
        "score": round(hit.score, 4),
    }


def _render(query: str, tools: list[dict[str, Any]], call_name: str) -> str:
    """A compact text form of the matches, for clients that show only text to the model."""
    if not tools:
        return f"No tools match {query!r}. Try other words, or no server filter."
    lines = [f"{len(tools)} tools for {query!r} (call with {call_name}, or directly by name):"]
    for tool in tools:
        description = " ".join(tool["description"].split())
        if len(description) > _TEXT_DESCRIPTION_LENGTH:
            description = description[: _TEXT_DESCRIPTION_LENGTH - 1].rstrip() + "…"
        lines.append(f"- {tool['name']}({_signature(tool['inputSchema'])}): {description}")
    return "\n".join(lines)


def _signature(schema: Mapping[str, Any]) -> str:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return ""
    required = set(schema.get("required") or ())
    parts = []
    for name, spec in properties.items():
        kind = spec.get("type", "any") if isinstance(spec, dict) else "any"
        if isinstance(kind, list):
            kind = "|".join(str(k) for k in kind)
        parts.append(f"{name}{'' if name in required else '?'}: {kind}")
    return ", ".join(parts)


def _check_arguments(name: str, schema: Any, arguments: dict[str, Any]) -> None:
    """Catch arguments that cannot match the tool's input schema before they reach the backend."""
    if not isinstance(schema, dict):
        return
    validator = schema_validator(schema)
    if validator is None:
        return
    errors = sorted(validator.iter_errors(arguments), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        problems = "; ".join(_describe(error) for error in errors[:5])
        raise ArgumentProblem(f"invalid arguments for {name}: {problems}")


def _describe(error: Any) -> str:
    path = "/".join(str(p) for p in error.absolute_path)
    return f'argument "{path}": {error.message}' if path else error.message


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
