"""Two gateway replicas sharing one PostgreSQL registry: discovered definitions, name mappings and the audit
log of both land in the same place (fails, not skips, under CI when PostgreSQL is missing)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchyard.registry import Store
from tests.integration.harness import http_front, legacy_client, make_config, running_gateway, stdio_server
from tests.support import faulty_argv, postgres_schema

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with postgres_schema("gateway_test") as schema:
        yield f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


async def test_two_replicas_share_definitions_mappings_and_audit(postgres_url: str) -> None:
    config = make_config({"srv": stdio_server(faulty_argv())})
    stores = [await Store.open(postgres_url), await Store.open(postgres_url)]
    try:
        for i, store in enumerate(stores):
            async with running_gateway(config, store) as gateway, http_front(gateway) as url:
                async with legacy_client(url) as client:
                    await client.call_tool("srv__echo", {"text": f"replica {i}"})
                await gateway.audit.flush()
        records = await stores[0].list_audit(limit=10, tool="srv__echo")
        assert [r.decision for r in records] == ["allow", "allow"]
        definitions = {d.name for d in await stores[1].list_definitions(server="srv", kind="tool")}
        assert {"echo", "add", "crash"} <= definitions
        mappings = await stores[1].load_name_mappings()
        assert mappings[("srv", "tool", "echo")] == "srv__echo"
    finally:
        for store in stores:
            await store.close()
