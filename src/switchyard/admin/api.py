"""The admin REST API under /admin/api: one table of operations gives both the routes and the OpenAPI document.

Every request must carry an admin credential in the Authorization header (a token in the query string counts
for nothing): none or a bad one is 401, a client's is 403, and both are audited. Request bodies are JSON only
(which a browser cannot send across origins without a preflight) and small. Every answer, errors included,
carries headers that keep it from being rendered, framed, sniffed or cached.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchyard.admin.models import (
    AuditOut,
    AuditQuery,
    ChainOut,
    ErrorOut,
    FieldError,
    KeyCreate,
    KeyCreated,
    KeyOut,
    PinDetail,
    PinOut,
    ServerCreate,
    ServerOut,
    ServerPatch,
    ToolOut,
)
from switchyard.admin.service import Actor, AdminError, AdminService
from switchyard.front.auth import Authenticator, AuthRefused, Identity
from switchyard.front.http_request import remote_address
from switchyard.registry.audit_values import new_record
from switchyard.registry.records import AuditRecord

PREFIX = "/admin/api"
TRANSPORT = "admin"
MAX_BODY = 64 * 1024
SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
)

Run = Callable[[AdminService, Actor, "Inputs"], Awaitable[Any]]
Sink = Callable[[AuditRecord], None]


@dataclass(frozen=True, slots=True)
class Inputs:
    path: dict[str, str]
    query: Any  # the operation's query model, validated
    body: Any  # the operation's body model, validated


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str  # under PREFIX, with {param} segments
    operation_id: str
    summary: str
    run: Run
    response: Any = None  # a model, list[model], or None (no content)
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None


async def _list_servers(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.list_servers()


async def _create_server(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.create_server(actor, inputs.body)


async def _get_server(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.get_server(inputs.path["name"])


async def _update_server(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.update_server(actor, inputs.path["name"], inputs.body)


async def _delete_server(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    await service.delete_server(actor, inputs.path["name"])


async def _list_tools(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return service.list_tools()


async def _list_pins(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.list_pins()


async def _get_pin(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.get_pin(inputs.path["server"], inputs.path["tool"])


async def _approve_pin(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.approve_pin(actor, inputs.path["server"], inputs.path["tool"])


async def _list_keys(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.list_keys()


async def _create_key(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.create_key(actor, inputs.body)


async def _revoke_key(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.revoke_key(actor, inputs.path["key_id"])


async def _query_audit(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.query_audit(inputs.query)


async def _verify_audit(service: AdminService, actor: Actor, inputs: Inputs) -> Any:
    return await service.verify_audit()


OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/servers", "listServers", "Every server, secrets hidden", _list_servers, list[ServerOut]),
    Operation(
        "POST",
        "/servers",
        "createServer",
        "Add a server to the registry; it starts with the next serve",
        _create_server,
        ServerOut,
        201,
        body=ServerCreate,
    ),
    Operation("GET", "/servers/{name}", "getServer", "One server, secrets hidden", _get_server, ServerOut),
    Operation(
        "PATCH",
        "/servers/{name}",
        "updateServer",
        "Change a registry server, or enable or disable any server",
        _update_server,
        ServerOut,
        body=ServerPatch,
    ),
    Operation("DELETE", "/servers/{name}", "deleteServer", "Remove a registry server", _delete_server, None, 204),
    Operation("GET", "/tools", "listTools", "The catalogue's tools", _list_tools, list[ToolOut]),
    Operation("GET", "/pins", "listPins", "Pinned tool definitions", _list_pins, list[PinOut]),
    Operation(
        "GET", "/pins/{server}/{tool}", "getPin", "A pin, its held-back definition and the diff", _get_pin, PinDetail
    ),
    Operation(
        "POST", "/pins/{server}/{tool}/approve", "approvePin", "Accept a held-back definition", _approve_pin, PinDetail
    ),
    Operation("GET", "/keys", "listKeys", "API keys, never their secrets", _list_keys, list[KeyOut]),
    Operation(
        "POST",
        "/keys",
        "createKey",
        "Create an API key; its secret is shown once",
        _create_key,
        KeyCreated,
        201,
        body=KeyCreate,
    ),
    Operation("DELETE", "/keys/{key_id}", "revokeKey", "Revoke an API key", _revoke_key, KeyOut),
    Operation(
        "GET", "/audit", "queryAudit", "Audit records, newest first", _query_audit, list[AuditOut], query=AuditQuery
    ),
    Operation("GET", "/audit/verify", "verifyAudit", "Check the audit hash chain", _verify_audit, ChainOut),
)
_ERRORS = {
    400: "Malformed request",
    401: "No valid admin credential in the Authorization header",
    403: "Not an admin credential, or the operation is disabled by config",
    404: "No such resource",
    409: "Conflicts with what exists",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Invalid input; `detail` names the field",
}


class SecurityHeaders:
    """Adds headers that keep every answer from being rendered, framed, sniffed or cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AdminApi:
    """The operations served over HTTP, for an `Authenticator` (the HTTP front's) and a service per request."""

    def __init__(self, auth: Authenticator, service: Callable[[], AdminService | None], audit: Sink) -> None:
        self._auth = auth
        self._service = service
        self._audit = audit

    def app(self) -> ASGIApp:
        routes: dict[str, dict[str, Operation]] = {}
        for operation in OPERATIONS:
            routes.setdefault(operation.path, {})[operation.method] = operation
        starlette = Starlette(
            routes=[
                Route("/openapi.json", self._openapi, methods=["GET"]),
                *(
                    Route(path, self._endpoint(by_method), methods=list(by_method))
                    for path, by_method in routes.items()
                ),
            ],
        )
        return SecurityHeaders(starlette)

    async def _openapi(self, request: Request) -> Response:
        refused = await self.admit(request, "openapi")
        if isinstance(refused, Response):
            return refused
        return JSONResponse(openapi_document())

    def _endpoint(self, by_method: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self._handle(request, by_method[request.method])

        return endpoint

    async def _handle(self, request: Request, operation: Operation) -> Response:
        identity = await self.admit(request, operation.operation_id)
        if isinstance(identity, Response):
            return identity
        service = self._service()
        if service is None:
            return _error(503, "unavailable", "the registry is not open yet; retry in a moment")
        try:
            inputs = Inputs(
                path=dict(request.path_params),
                query=_validated(operation.query, dict(request.query_params)),
                body=await _read_body(request, operation.body),
            )
            actor = Actor(identity.principal, TRANSPORT, remote_address(request))
            result = await operation.run(service, actor, inputs)
        except AdminError as exc:
            where = "query" if operation.body is None else "body"
            detail = [FieldError(loc=[where, exc.field], msg=exc.message, type=exc.audit_reason)] if exc.field else []
            return _error(exc.status, exc.error, exc.message, detail)
        if operation.response is None:
            return Response(status_code=operation.status)
        body = TypeAdapter(operation.response).dump_json(result)
        return Response(body, status_code=operation.status, media_type="application/json")

    async def admit(self, request: Request, operation_id: str) -> Identity | Response:
        """The caller if it holds an admin credential; else the 401 or 403 to answer (audited)."""
        if not self._auth.enabled:
            self._refusal(request, "anonymous", "deny", "admin_auth_off", operation_id)
            return _error(
                403,
                "forbidden",
                "the admin API needs authentication: turn on auth (auth.api_keys or auth.oauth) and use an admin key",
            )
        try:
            identity = await self._auth.identify(request.headers)
        except AuthRefused as refusal:
            self._refusal(request, "anonymous", "reject", "admin_auth", operation_id, detail=refusal.reason)
            challenge = self._auth.challenge(refusal)
            response = _error(401, "unauthorized", "an admin credential is required (Authorization: Bearer ...)")
            response.headers["WWW-Authenticate"] = challenge.headers["WWW-Authenticate"]
            return response
        if identity.role != "admin":
            self._refusal(request, identity.principal, "deny", "forbidden", operation_id)
            return _error(403, "forbidden", "this credential is not an admin's")
        return identity

    def _refusal(
        self,
        request: Request,
        principal: str,
        decision: str,
        reason: str,
        operation_id: str,
        *,
        detail: str | None = None,
    ) -> None:
        self._audit(
            new_record(
                ts=datetime.now(UTC),
                principal=principal,
                transport=TRANSPORT,
                method=f"admin/{operation_id}",
                decision=decision,
                reason=reason,
                remote=remote_address(request),
                detail=detail,
            )
        )


def _validated(model: type[BaseModel] | None, data: Any) -> Any:
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False)
        message = "; ".join(f"{_loc(p['loc'])}: {p['msg']}" for p in problems[:5])
        raise AdminError(422, "invalid", message, field=_loc(problems[0]["loc"]) if problems else None) from None


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(body)"


async def _read_body(request: Request, model: type[BaseModel] | None) -> Any:
    if model is None:
        return None
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise AdminError(415, "unsupported_media_type", "send the body as application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise AdminError(413, "too_large", f"the body is over {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise AdminError(413, "too_large", f"the body is over {MAX_BODY} bytes")
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdminError(400, "malformed", f"the body is not valid JSON: {exc}") from None
    return _validated(model, data)


def _error(status: int, error: str, message: str, detail: list[FieldError] | None = None) -> Response:
    body = ErrorOut(error=error, message=message, detail=detail or [])
    return Response(body.model_dump_json(), status_code=status, media_type="application/json")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the admin API, generated from the operation table and its models."""
    models: dict[type[BaseModel], str] = {ErrorOut: "serialization"}
    for operation in OPERATIONS:
        if operation.body is not None:
            models[operation.body] = "validation"
        response = _model_of(operation.response)
        if response is not None:
            models.setdefault(response, "serialization")
    refs, definitions = models_json_schema(
        [(model, mode) for model, mode in models.items()],  # type: ignore[misc]
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(PREFIX + operation.path, {})[operation.method.lower()] = _operation_document(operation, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Switchyard admin API", "version": "1"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _model_of(response: Any) -> type[BaseModel] | None:
    inner = getattr(response, "__args__", None)
    candidate = inner[0] if inner else response
    return candidate if isinstance(candidate, type) and issubclass(candidate, BaseModel) else None


def _operation_document(operation: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        return dict(refs[(model, mode)])

    error = {"content": {"application/json": {"schema": ref(ErrorOut, "serialization")}}}
    responses: dict[str, Any] = {}
    model = _model_of(operation.response)
    if model is None:
        responses[str(operation.status)] = {"description": "Done"}
    else:
        schema = ref(model, "serialization")
        if getattr(operation.response, "__args__", None):
            schema = {"type": "array", "items": schema}
        responses[str(operation.status)] = {
            "description": operation.summary,
            "content": {"application/json": {"schema": schema}},
        }
    for status, description in _ERRORS.items():
        if status in (400, 413, 415) and operation.body is None:
            continue
        responses[str(status)] = {"description": description, **error}
    responses["503"] = {"description": "The registry is not open yet", **error}
    document: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for name in _path_params(operation.path)
        ],
        "responses": responses,
    }
    if operation.query is not None:
        document["parameters"] += _query_params(operation.query)
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(operation.body, "validation")}},
        }
    return document


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    params = []
    for name, prop in schema.get("properties", {}).items():
        options = [option for option in prop.get("anyOf", [prop]) if option.get("type") != "null"]
        inner = {k: v for k, v in options[0].items()} if options else {}
        params.append({"name": name, "in": "query", "required": False, "schema": inner})
    return params
