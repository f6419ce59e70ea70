"""schemathesis against the admin API's own OpenAPI document, over HTTP on a real gateway: no 5xx, and every
answer (status, content type, body, headers) conforms to the document. The budget is bounded per operation."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import schemathesis
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, settings

from switchyard.admin.api import openapi_document
from switchyard.config import parse_config
from switchyard.registry import Store
from tests.integration.harness import http_front, running_gateway

pytestmark = pytest.mark.integration

# A refusal for being too large (413) or of the wrong type (415) also rejects schema-violating data.
REJECTIONS = [400, 401, 403, 404, 409, 413, 415, 422]
schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}),
)
EXAMPLES_PER_OPERATION = 25


@contextlib.asynccontextmanager
async def serving(root: Path) -> AsyncIterator[tuple[str, str]]:
    config = parse_config(
        "mcpServers: {}\nauth: {api_keys: true}\nadmin: {allow_command_changes: true}\n"
        "egress: {allow: ['127.0.0.1:9101']}\n"
    )
    store = await Store.open(str(root / "registry.db"))
    try:
        _, admin = await store.create_api_key("admin", None, "admin")
        async with running_gateway(config, store) as gateway, http_front(gateway) as url:
            yield url.removesuffix("/mcp"), admin
    finally:
        await store.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("admin_schema")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(root))
        with start_blocking_portal() as portal, portal.wrap_async_context_manager(serving(root)) as world:
            yield world


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_admin_api_conforms_to_its_openapi_document(case: schemathesis.Case, served: tuple[str, str]) -> None:
    base_url, admin = served
    # Schema-valid is not always acceptable: the egress policy, "command or url" and existing names are checked
    # beyond what JSON Schema can say, so a 422 or 409 for valid-looking data is correct here.
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Bearer {admin}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
