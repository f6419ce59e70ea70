"""malformed-json: SEC-JSON-001, -002, -005, -006 on the HTTP and stdio fronts."""

from __future__ import annotations

import json

import pytest

from tests.security.conftest import Case
from tests.security.stdio import StdioGateway
from tests.security.world import ERROR_CODES, World, assert_error, tool_text

ECHO_CALL = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"%s"'


def _echo_calls_with(world: World, text: str) -> int:
    return sum(1 for call in world.calls_received("echo") if call["params"]["arguments"].get("text") == text)


TRUNCATED = {
    "case_body": (ECHO_CALL % "hi").encode(),
    "after_method": b'{"jsonrpc":"2.0","id":1,"method":"tools/call"',
    "open_string": b'{"jsonrpc":"2.0","id":1,"method":"tools/ca',
    "trailing_garbage": b'{"jsonrpc":"2.0","id":1,"method":"ping"}}',
    "single_quotes": b"{'jsonrpc': '2.0', 'id': 1, 'method': 'ping'}",
    "two_objects": b'{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"ping"}',
}


@pytest.mark.case("SEC-JSON-001")
@pytest.mark.parametrize("body", TRUNCATED.values(), ids=TRUNCATED.keys())
def test_truncated_body_is_a_parse_error_and_the_session_survives(world: World, case: Case, body: bytes) -> None:
    alice = world.peer("alice")
    alice.initialize()
    before = _echo_calls_with(world, "hi")
    reply = alice.post(content=body)
    assert reply.status == 400
    assert_error(reply.message, "PARSE_ERROR")
    assert reply.message["id"] is None
    case.refused("parse_error")
    assert _echo_calls_with(world, "hi") == before
    after = alice.call("echo__echo", {"text": "hi"})
    assert tool_text(after.message) == "hi"
    assert _echo_calls_with(world, "hi") == before + 1


@pytest.mark.case("SEC-JSON-001")
def test_nesting_deeper_than_any_parser_limit_is_refused_not_crashed(world: World, case: Case) -> None:
    alice = world.peer("alice")
    alice.initialize()
    depth = 100_000
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + b"[" * depth + b"]" * depth + b"}}"
    reply = alice.post(content=body)
    assert reply.status == 400
    assert_error(reply.message, "PARSE_ERROR", alt=("INVALID_REQUEST",))
    case.refused("parse_error", "invalid_request")


INVALID_UTF8 = {
    "case_ff_fe": b"http://x\xff\xfe",
    "overlong_slash": b"a\xc0\xafb",
    "encoded_surrogate": b"a\xed\xa0\x80b",
    "truncated_sequence": b"a\xe2\x82",
}


@pytest.mark.case("SEC-JSON-002")
@pytest.mark.parametrize("bad", INVALID_UTF8.values(), ids=INVALID_UTF8.keys())
def test_invalid_utf8_over_http_is_a_parse_error(world: World, case: Case, bad: bytes) -> None:
    alice = world.peer("alice")
    alice.initialize()
    body = b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"'
    reply = alice.post(content=body + bad + b'"}}}')
    assert reply.status == 400
    assert_error(reply.message, "PARSE_ERROR")
    assert reply.message["id"] is None
    case.refused("parse_error")
    assert not any(
        "\ufffd" in json.dumps(call) or "\\ufffd" in json.dumps(call) for call in world.calls_received("echo")
    )


@pytest.mark.case("SEC-JSON-002")
@pytest.mark.parametrize("bad", INVALID_UTF8.values(), ids=INVALID_UTF8.keys())
def test_invalid_utf8_on_stdio_gets_one_error_line_and_the_loop_keeps_reading(
    world: World, case: Case, stdio: StdioGateway, bad: bytes
) -> None:
    line = b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"'
    stderr_at = len(stdio.stderr_text())
    stdio.send_raw(line + bad + b'"}}}\n' + b'{"jsonrpc":"2.0","id":4,"method":"ping"}\n')
    error = stdio.read()
    assert_error(error, "PARSE_ERROR")
    assert error["id"] is None
    assert stdio.read() == {"jsonrpc": "2.0", "id": 4, "result": {}}
    case.refused("parse_error")
    stderr = stdio.stderr_text()[stderr_at:]
    assert "Traceback" not in stderr and "ClosedResourceError" not in stderr
    assert not any("\\ufffd" in json.dumps(call) for call in world.calls_received("echo"))


BATCHES = {
    "allowed_and_denied": [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "echo__echo", "arguments": {"text": "a"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "admin_tools__delete_all", "arguments": {}},
        },
    ],
    "empty": [],
    "denied_only": [
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "admin_tools__delete_all", "arguments": {}},
        }
    ],
    "notification_and_call": [
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 8,
            "method": "tools/call",
            "params": {"name": "admin_tools__delete_all", "arguments": {}},
        },
    ],
}


def _nothing_ran(world: World) -> None:
    assert world.calls_received("admin_tools") == []
    assert not any(call["params"]["arguments"].get("text") == "a" for call in world.calls_received("echo"))


@pytest.mark.case("SEC-JSON-005")
@pytest.mark.parametrize("batch", BATCHES.values(), ids=BATCHES.keys())
def test_batch_over_http_is_refused_whole(world: World, case: Case, batch: list[dict[str, object]]) -> None:
    alice = world.peer("alice")
    alice.initialize()
    reply = alice.post(batch)
    assert reply.status == 400
    assert_error(reply.message, "INVALID_REQUEST")
    assert reply.message["id"] is None
    case.refused("batch_not_supported")
    _nothing_ran(world)


@pytest.mark.case("SEC-JSON-005")
@pytest.mark.parametrize("batch", BATCHES.values(), ids=BATCHES.keys())
def test_batch_on_stdio_gets_one_error_line(
    world: World, case: Case, stdio: StdioGateway, batch: list[dict[str, object]]
) -> None:
    stdio.send_raw(json.dumps(batch).encode() + b"\n")
    error = stdio.read()
    assert_error(error, "INVALID_REQUEST")
    case.refused("batch_not_supported")
    _nothing_ran(world)


NOT_JSONRPC: dict[str, tuple[bytes, str, object]] = {
    # body, the expected error name, the id the answer carries
    "1_null": (b"null", "INVALID_REQUEST", None),
    "2_number": (b"42", "INVALID_REQUEST", None),
    "3_string": (b'"x"', "INVALID_REQUEST", None),
    "4_empty": (b"", "INVALID_REQUEST", None),
    "5_jsonrpc_1_0": (b'{"jsonrpc":"1.0","id":1,"method":"ping"}', "INVALID_REQUEST", 1),
    "6_object_id": (b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', "INVALID_REQUEST", None),
    "7_numeric_method": (b'{"jsonrpc":"2.0","id":1,"method":42}', "INVALID_REQUEST", 1),
    "8_null_id": (
        b'{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"x"}}}',
        "INVALID_REQUEST",
        None,
    ),
    "9_string_params": (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"echo__echo"}',
        "INVALID_PARAMS",
        1,
    ),
    # unseen variants of the same class
    "no_jsonrpc_member": (b'{"id":"s1","method":"ping"}', "INVALID_REQUEST", "s1"),
    "boolean_id": (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', "INVALID_REQUEST", None),
    "array_id": (b'{"jsonrpc":"2.0","id":[1],"method":"ping"}', "INVALID_REQUEST", None),
    "no_method": (b'{"jsonrpc":"2.0","id":5}', "INVALID_REQUEST", 5),
    "array_params_call": (
        b'{"jsonrpc":"2.0","id":6,"method":"tools/call","params":["echo__echo"]}',
        "INVALID_PARAMS",
        6,
    ),
}


@pytest.mark.case("SEC-JSON-006")
@pytest.mark.parametrize("body,name,answer_id", NOT_JSONRPC.values(), ids=NOT_JSONRPC.keys())
def test_valid_json_that_is_not_jsonrpc_is_refused(
    world: World, case: Case, body: bytes, name: str, answer_id: object
) -> None:
    alice = world.peer("alice")
    alice.initialize()
    before = len(world.calls_received("echo"))
    reply = alice.post(content=body)
    assert reply.status < 500
    if name == "INVALID_PARAMS":
        assert reply.status in (200, 400)
        assert_error(reply.message, "INVALID_PARAMS")
        case.refused("invalid_params")
    else:
        assert reply.status == 400
        assert_error(reply.message, "INVALID_REQUEST")
        case.refused("invalid_request")
    assert reply.message["id"] == answer_id
    assert reply.error["code"] == ERROR_CODES[name]
    assert len([c for c in world.calls_received("echo") if c["params"]["arguments"].get("text") == "x"]) == 0
    assert len(world.calls_received("echo")) - before <= 5  # only bob's canary calls, none of this body's
