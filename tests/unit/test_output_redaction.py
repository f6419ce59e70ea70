"""Output redaction (pipeline/redaction.py): known credential formats and the gateway's own secrets, in text,
structures and errors."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest

from switchyard.config import Config, RedactionConfig
from switchyard.errors import BackendError, GatewayError
from switchyard.pipeline.base import Call, Client, Target
from switchyard.pipeline.redaction import Redaction, Redactor, configured_secrets

PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQUJDREVGRw==\n-----END OPENSSH PRIVATE KEY-----"
CONFIG = Config.model_validate(
    {
        "mcpServers": {
            "files": {"command": "x", "env": {"API_TOKEN": "cnry-env-3b7e9d", "ROOT": "/srv/data/files"}},
            "web": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer cnry-upstream-51ac"}},
        }
    }
)
REDACTOR = Redactor(RedactionConfig(patterns=[r"cnry-db-pw-[0-9a-f]{4}"]), configured_secrets(CONFIG))


def test_configured_secrets_are_secret_named_env_values_and_header_values() -> None:
    assert configured_secrets(CONFIG) == {"cnry-env-3b7e9d", "Bearer cnry-upstream-51ac", "cnry-upstream-51ac"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key AKIACNRY0000EXAMPLE here", "key [REDACTED:aws_access_key_id] here"),
        ("aws_secret_access_key=cnry-aws-secret-2d8a", "aws_secret_access_key=[REDACTED:aws_secret_access_key]"),
        (f"x\n{PEM}\ny", "x\n[REDACTED:private_key]\ny"),
        ("tok ghp_" + "a" * 36, "tok [REDACTED:github_token]"),
        ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer [REDACTED:bearer_token]"),
        ("env cnry-env-3b7e9d!", "env [REDACTED:configured_secret]!"),
        ("saw cnry-upstream-51ac", "saw [REDACTED:configured_secret]"),
        ("url " + quote("cnry-env-3b7e9d&", safe=""), "url [REDACTED:configured_secret]%26"),
        ("b64 " + base64.b64encode(b"cnry-env-3b7e9d").decode(), "b64 [REDACTED:configured_secret]"),
        ("hex " + b"cnry-env-3b7e9d".hex(), "hex [REDACTED:configured_secret]"),
        ("db cnry-db-pw-6c1f", "db [REDACTED:custom]"),
    ],
)
def test_secrets_are_replaced_by_their_kind(text: str, expected: str) -> None:
    assert REDACTOR.text(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "the AKIA prefix marks AWS keys",
        "files live under /srv/data/files",  # a non-secret env value stays
        "a bearer of news",
        "ghp_short",
        "",
    ],
)
def test_harmless_text_is_untouched(text: str) -> None:
    assert REDACTOR.text(text) == (text, set())


def test_structures_are_copied_only_when_something_changed() -> None:
    clean = {"content": [{"type": "text", "text": "fine"}], "structuredContent": {"n": 1}}
    kinds: set[str] = set()
    assert REDACTOR.value(clean, kinds) is clean and not kinds
    dirty = {
        "content": [{"type": "text", "text": "AKIACNRY0000EXAMPLE"}],
        "structuredContent": {"k": ["cnry-env-3b7e9d"]},
    }
    redacted = REDACTOR.value(dirty, kinds)
    assert redacted["content"][0]["text"] == "[REDACTED:aws_access_key_id]"
    assert redacted["structuredContent"] == {"k": ["[REDACTED:configured_secret]"]}
    assert dirty["content"][0]["text"] == "AKIACNRY0000EXAMPLE"  # the original is not modified
    assert kinds == {"aws_access_key_id", "configured_secret"}


def _call() -> Call:
    return Call(
        "tools/call", {"name": "web__fetch"}, Client("alice", "http"), 1, Target("tool", "web__fetch", "web", "fetch")
    )


async def test_the_policy_redacts_results_and_errors_and_records_the_kinds() -> None:
    async def answer(call: Call) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": "token ghp_" + "b" * 36}]}

    policy = Redaction(REDACTOR, lambda target: None)
    clean = {"content": [{"type": "text", "text": "nothing secret, not even a bearer of news"}]}

    async def answer_clean(call: Call) -> dict[str, Any]:
        return clean

    untouched = _call()
    assert await policy(untouched, answer_clean) is clean and untouched.redacted == ()
    call = _call()
    result = await policy(call, answer)
    assert result["content"][0]["text"] == "token [REDACTED:github_token]"
    assert call.redacted == ("github_token",)

    async def backend_error(call: Call) -> dict[str, Any]:
        raise BackendError({"code": -32000, "message": "failed with cnry-upstream-51ac", "data": {"d": PEM}})

    with pytest.raises(BackendError) as failed:
        await policy(_call(), backend_error)
    assert failed.value.error == {
        "code": -32000,
        "message": "failed with [REDACTED:configured_secret]",
        "data": {"d": "[REDACTED:private_key]"},
    }

    async def gateway_error(call: Call) -> dict[str, Any]:
        raise GatewayError.unknown("tool", "x")

    with pytest.raises(GatewayError):
        await policy(_call(), gateway_error)


async def test_structured_content_that_breaks_its_schema_once_redacted_is_blocked() -> None:
    schema = {"type": "object", "properties": {"key": {"type": "string", "pattern": "^AKIA"}}}

    async def answer(call: Call) -> dict[str, Any]:
        return {"content": [], "structuredContent": {"key": "AKIACNRY0000EXAMPLE"}}

    with pytest.raises(GatewayError) as blocked:
        await Redaction(REDACTOR, lambda target: schema)(_call(), answer)
    assert blocked.value.to_jsonrpc()["data"]["reason"] == "output_policy"
    loose = {"type": "object", "properties": {"key": {"type": "string"}}}
    result = await Redaction(REDACTOR, lambda target: loose)(_call(), answer)
    assert result["structuredContent"] == {"key": "[REDACTED:aws_access_key_id]"}
