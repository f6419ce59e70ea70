"""Property-based fuzzing with bounded budgets: JSON-RPC messages and HTTP bodies/headers on the HTTP front, lines on
the stdio front, and schemathesis against the admin API's OpenAPI document. Whatever arrives, the gateway never
answers 5xx, answers valid JSON-RPC (or an empty 202 for notifications), and stays alive (the `case` invariants
run around each fuzzer too)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.security.conftest import Case
from tests.security.stdio import StdioGateway
from tests.security.world import ADMIN_API, Reply, World

HTTP_EXAMPLES = 200
HEADER_EXAMPLES = 100
STDIO_EXAMPLES = 200
ADMIN_EXAMPLES_PER_OPERATION = 15
BUDGET = settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found, within the budget
    derandomize=True,  # CI runs the same examples each time
    database=None,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
METHODS = ["initialize", "ping", "tools/list", "tools/call", "resources/read", "prompts/get", "notifications/cancelled"]
TOOLS = ["echo__echo", "secret_srv__dump_env", "admin_tools__delete_all", "files__read_file", "evil__crash", "x"]
jsonrpc_messages = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]) | json_values,
        "id": st.integers() | st.text(max_size=20) | json_values,
        "method": st.sampled_from(METHODS) | st.text(max_size=30) | json_values,
        "params": st.fixed_dictionaries(
            {}, optional={"name": st.sampled_from(TOOLS) | json_values, "arguments": json_values, "_meta": json_values}
        )
        | json_values,
    },
)
bodies = (
    jsonrpc_messages.map(lambda m: json.dumps(m).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=300)
    | st.lists(jsonrpc_messages, max_size=3).map(lambda b: json.dumps(b).encode())
)


def _well_formed(reply: Reply) -> None:
    assert reply.status < 500, f"HTTP {reply.status}: {reply.text[:300]}"
    if reply.status == 202 or not reply.text.strip():
        return
    if 400 <= reply.status < 500 and not reply.text.lstrip().startswith(("{", "[", "data:", "event:", "id:")):
        return  # refused at the HTTP level (405, 406, 415, 421...) with a plain-text body
    if reply.status == 401:
        assert "error" in json.loads(reply.text)  # RFC 6750's error document, not JSON-RPC
        return
    assert reply.messages, f"HTTP {reply.status} without a JSON-RPC message: {reply.text[:300]}"
    for message in reply.messages:
        assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", message
        assert ("result" in message) != ("error" in message) or "method" in message, message
        if "error" in message:
            assert isinstance(message["error"].get("code"), int) and isinstance(message["error"].get("message"), str)


def test_fuzzed_http_bodies_never_break_the_gateway(world: World, case: Case) -> None:
    case.may_refuse_anything()
    alice = world.peer("alice")
    alice.initialize()

    @settings(BUDGET, max_examples=HTTP_EXAMPLES)
    @given(body=bodies)
    def one(body: bytes) -> None:
        _well_formed(alice.post(content=body, timeout=15))

    one()


header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(str.strip)


def test_fuzzed_http_headers_never_break_the_gateway(world: World, case: Case) -> None:
    case.may_refuse_anything()
    alice = world.peer("alice")
    alice.initialize()
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "echo__echo", "arguments": {"text": "f"}},
    }

    @settings(BUDGET, max_examples=HEADER_EXAMPLES)
    @given(
        changes=st.dictionaries(
            st.sampled_from(
                [
                    "Content-Type",
                    "Accept",
                    "MCP-Protocol-Version",
                    "Mcp-Session-Id",
                    "Authorization",
                    "Origin",
                    "Mcp-Method",
                    "Mcp-Name",
                    "Last-Event-ID",
                    "Content-Encoding",
                    "Host",
                ]
            ),
            header_values,
            max_size=4,
        ),
        method=st.sampled_from(["POST", "GET", "DELETE", "PUT", "OPTIONS"]),
    )
    def one(changes: dict[str, str], method: str) -> None:
        headers = {**alice.headers(), **changes}
        try:
            reply = alice.request(method, body=body if method == "POST" else None, headers=headers, timeout=5)
        except httpx2.ReadTimeout:
            return  # a GET stream that stays open is a valid answer
        _well_formed(reply)

    one()


def test_fuzzed_stdio_lines_never_break_the_gateway(world: World, case: Case, stdio: StdioGateway) -> None:
    case.may_refuse_anything()
    lines = (
        jsonrpc_messages.map(lambda m: json.dumps(m).encode())
        | st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" "))
        | json_values.map(lambda v: json.dumps(v).encode())
    )

    @settings(BUDGET, max_examples=STDIO_EXAMPLES)
    @given(line=lines)
    def one(line: bytes) -> None:
        stdio.drain()
        stdio.send_raw(line + b"\n" + b'{"jsonrpc":"2.0","id":"fuzz-ping","method":"ping"}\n')
        while True:
            message = stdio.read(timeout=5)  # every line the gateway writes is JSON ...
            assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", message  # ... and JSON-RPC
            if message.get("id") == "fuzz-ping" and "method" not in message:
                assert message.get("result") == {}, message
                return

    one()


def test_schemathesis_against_the_admin_api(world: World, case: Case) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    case.may_refuse_anything()
    auth = {"Authorization": f"Bearer {world.keys['admin']}"}
    schema = schemathesis.openapi.from_url(f"{world.base_url}{ADMIN_API}/openapi.json", headers=auth)
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(BUDGET, max_examples=ADMIN_EXAMPLES_PER_OPERATION)
        @given(example=operation.as_strategy())
        def one(example: Any) -> None:
            if example.method.upper() == "DELETE" and example.path.startswith("/keys"):
                return  # revoking the world's own keys would end the case, not test the API
            response = example.call(base_url=world.base_url, headers=auth)
            if response.status_code >= 500:
                problems.append(f"{example.method} {example.formatted_path}: {response.status_code}")
            world.transcript.append(response.text)

        one()
    assert not problems, problems
