"""Output redaction through the HTTP front and a real SDK client: a backend that echoes secrets back."""

from __future__ import annotations

import pytest

from tests.integration.harness import http_front, legacy_client, make_config, running_gateway, stdio_server
from tests.support import faulty_argv

pytestmark = pytest.mark.integration

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"
)


async def test_secrets_echoed_by_a_backend_never_reach_the_client() -> None:
    server = stdio_server(faulty_argv(), env={"API_TOKEN": "cnry-env-3b7e9d"})
    async with running_gateway(make_config({"files": server})) as gateway, http_front(gateway) as url:
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
