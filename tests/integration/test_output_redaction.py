"""Output redaction through the HTTP front and a real SDK client: a backend that echoes secrets back."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.registry import Store
from tests.integration.harness import http_front, legacy_client, make_config, running_gateway, stdio_server
from tests.support import faulty_argv

pytestmark = pytest.mark.integration

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"
)


async def test_secrets_echoed_by_a_backend_never_reach_the_client(tmp_path: Path) -> None:
    server = stdio_server(faulty_argv(), env={"API_TOKEN": "cnry-env-3b7e9d"})
    store = await Store.open(str(tmp_path / "registry.db"))
    gateway_run = running_gateway(make_config({"files": server}), store)
    async with gateway_run as gateway, http_front(gateway) as url:
        async with legacy_client(url) as client:
            leaked = (
                f"id AKIACNRY0000EXAMPLE and aws_secret_access_key=cnry-aws-secret-2d8a\n{PEM}\n"
                f"token ghp_{'x' * 36}, env cnry-env-3b7e9d"
            )
            result = await client.call_tool("files__echo", {"text": leaked})
            text = result.content[0].text  # type: ignore[union-attr]
            assert text == (
                "id [REDACTED:aws_access_key_id] and aws_secret_access_key=[REDACTED:aws_secret_access_key]\n"
                "[REDACTED:private_key]\ntoken [REDACTED:github_token], env [REDACTED:configured_secret]"
            )
            control = "the AKIA prefix marks AWS keys"
            assert (await client.call_tool("files__echo", {"text": control})).content[0].text == control  # type: ignore[union-attr]
        await gateway.audit.flush()
    try:
        records = await store.list_audit(limit=10)
    finally:
        await store.close()
    calls = [r for r in records if r.tool == "files__echo"]
    assert [(r.decision, r.reason) for r in calls] == [("allow", "ok"), ("allow", "redacted")]  # newest first
    assert calls[1].detail is not None and "private_key" in calls[1].detail and "cnry" not in calls[1].detail
