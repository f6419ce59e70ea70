"""Secrets masked in logs and recorded values; control characters escaped so that no log line can be forged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from switchyard.config import parse_config
from switchyard.observability.logging import JsonFormatter, RedactingFilter
from switchyard.observability.redaction import MASK, Redactor, config_secrets

CANARY = "cnry-env-3b7e9d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-123456", f"Authorization: Bearer {MASK}"),
        ("basic dXNlcjpwYXNzd29yZA==", f"basic {MASK}"),
        ("key sy_0123456789abcdef_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 ok", f"key {MASK} ok"),
        ("jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", f"jwt {MASK}"),
        ("gh ghp_" + "a" * 36, f"gh {MASK}"),
        ("openai sk-proj-" + "b" * 30, f"openai {MASK}"),
        ("aws AKIAABCDEFGHIJKLMNOP", f"aws {MASK}"),
        ("postgresql://app:hunter22@db:5432/sw", f"postgresql://app:{MASK}@db:5432/sw"),
        ("GET /admin/api/servers?token=cnry-admin-77d1aa HTTP/1.1", f"GET /admin/api/servers?token={MASK} HTTP/1.1"),
        ('{"api_key": "abcdef1234"}', f'{{"api_key": "{MASK}"}}'),
        ("nothing secret here: 42 tools, 3 servers", "nothing secret here: 42 tools, 3 servers"),
    ],
)
def test_known_token_formats_are_masked(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


def test_configured_values_are_masked_in_every_form_given() -> None:
    redactor = Redactor([CANARY, "short"])
    assert redactor.redact(f"spawn failed: env {CANARY}!") == f"spawn failed: env {MASK}!"
    assert redactor.redact("short values are left alone") == "short values are left alone"
    redactor.add_values(["p%40ss-word-1"])
    assert redactor.redact("p@ss-word-1 and p%40ss-word-1") == f"{MASK} and {MASK}"


def test_json_values_are_masked_by_key_and_by_content() -> None:
    value = {"path": "/tmp/x", "password": "pw", "nested": [{"Authorization": "x"}, f"echo {CANARY}"], "n": 3}
    assert Redactor([CANARY]).redact_value(value) == {
        "path": "/tmp/x",
        "password": MASK,
        "nested": [{"Authorization": MASK}, f"echo {MASK}"],
        "n": 3,
    }


def test_config_secrets_are_env_header_and_url_credentials() -> None:
    config = parse_config(
        "mcpServers:\n"
        "  files: {command: x, env: {API_TOKEN: '${CANARY}', MODE: production, ID: a8f3k29dj3k4l5m6n7}}\n"
        "  web:\n"
        "    url: 'https://u:pw-123456@api.example.com/mcp?key=q-987654'\n"
        "    headers: {Authorization: 'Bearer t-123456'}\n"
        "gateway: {registry: 'postgresql://sw:db-pass-1@db/sw'}\n",
        environ={"CANARY": CANARY},
    )
    found = config_secrets(config)
    assert {CANARY, "a8f3k29dj3k4l5m6n7", "pw-123456", "q-987654", "Bearer t-123456", "t-123456", "db-pass-1"} <= found
    assert "production" not in found  # a plain setting is not masked in every log line


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter(Redactor([CANARY])))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_log_lines_are_masked_and_escaped(captured: io.StringIO) -> None:
    log = logging.getLogger("test.redaction")
    log.info("backend env %s", {"API_TOKEN": CANARY})
    log.warning('tool %r\n{"principal":"admin","decision":"allow"}\x1b[2K\u2028', "echo")
    try:
        raise RuntimeError(f"connect failed with Bearer {CANARY}")
    except RuntimeError:
        log.exception("call failed")
    text = captured.getvalue()
    assert CANARY not in text
    assert "\x1b" not in text and "\u2028" not in text
    lines = text.splitlines()
    assert lines[0] == f"INFO backend env {{'API_TOKEN': '{MASK}'}}"
    # The forged record stays inside the warning's one line, escaped.
    assert lines[1].startswith("WARNING tool 'echo'\\x0a{") and lines[1].endswith("\\x1b[2K\\u2028")
    assert "RuntimeError: connect failed with Bearer ***" in text


def test_json_lines_carry_the_masked_traceback() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", (CANARY,), None)
    try:
        raise ValueError(CANARY)
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter(Redactor([CANARY])).filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == f"failed: {MASK}"
    assert CANARY not in entry["exception"] and "ValueError: ***" in entry["exception"]
