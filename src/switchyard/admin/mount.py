"""The admin API and /metrics as routes of the HTTP front, wired to a running gateway."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, request_response

from switchyard.admin.api import PREFIX, AdminApi, SecurityHeaders
from switchyard.admin.models import ToolOut
from switchyard.admin.service import AdminService
from switchyard.front.auth import Authenticator
from switchyard.front.guard import LOOPBACK_HOSTS
from switchyard.gateway import Gateway
from switchyard.observability import metrics
from switchyard.registry.records import AuditRecord


def admin_routes(gateway: Gateway, auth: Authenticator, host: str) -> list[BaseRoute]:
    """`/admin/api` (admin credentials only) and `/metrics` (admin only, unless public on a loopback bind)."""

    def service() -> AdminService | None:
        if gateway.store is None:
            return None

        async def record(entry: AuditRecord) -> None:
            gateway.audit.submit(entry)

        return AdminService(gateway.config, gateway.store, record, tools=lambda: _tools(gateway))

    api = AdminApi(auth, service, gateway.audit.submit)
    public = gateway.config.metrics.public and host in LOOPBACK_HOSTS
    state = metrics.GatewayState(
        sessions=lambda: len(gateway.sessions),
        backend_states=lambda: {name: str(backend.state) for name, backend in gateway.backends.items()},
        pins_pending=lambda: gateway.pinning.pending,
    )

    async def scrape(request: Request) -> Response:
        if not public:
            admitted = await api.admit(request, "metrics")
            if isinstance(admitted, Response):
                return admitted
        return Response(metrics.render(state), media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return [Mount(PREFIX, app=api.app()), Route("/metrics", SecurityHeaders(request_response(scrape)), methods=["GET"])]


def _tools(gateway: Gateway) -> list[ToolOut]:
    return [
        ToolOut(
            name=entry.public_name,
            server=entry.server,
            original_name=entry.original_name,
            title=_text(entry.definition.get("title")),
            description=_text(entry.definition.get("description")),
        )
        for entry in gateway.catalogue.tools
    ]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
