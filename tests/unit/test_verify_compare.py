"""How verify compares definitions and call results, and which call it deems harmless."""

from __future__ import annotations

from switchyard.adoption.compare import field_differences, result_difference
from switchyard.adoption.probe import HarmlessCall, harmless_call

READ_ONLY = {"readOnlyHint": True, "openWorldHint": False}


def _text(text: str) -> dict[str, object]:
    return {"content": [{"type": "text", "text": text}], "isError": False}


def test_a_clock_or_a_request_id_that_moved_is_not_a_difference() -> None:
    direct = _text(
        '{"timezone": "UTC", "datetime": "2026-11-25T15:40:21+00:00", "id": "0b0c8a4e-3f7e-4a57-9d39-1f8c2b1a7e10"}'
    )
    through = _text(
        '{"timezone": "UTC", "datetime": "2026-11-25T15:40:23+00:00", "id": "5d4f0f2e-8c1b-4a57-9d39-aa8c2b1a7e11"}'
    )
    assert result_difference(direct, through) is None
    assert result_difference(_text("at 12:00:01, epoch 1764085221"), _text("at 12:00:02, epoch 1764085222")) is None
    assert result_difference({**_text("x"), "_meta": {"a": 1}}, {**_text("x"), "_meta": {"a": 2}}) is None


def test_a_changed_value_is_a_difference_at_its_path() -> None:
    assert result_difference(_text('{"timezone": "UTC"}'), _text('{"timezone": "CET"}')) == "content[0].text"
    assert result_difference({"structuredContent": {"sum": 3}}, {"structuredContent": {"sum": 4}}) == (
        "structuredContent.sum"
    )
    assert result_difference(_text("a"), {**_text("a"), "isError": True}) == "isError"
    assert result_difference({"content": []}, _text("a")) == "content has 0 items directly, 1 through the gateway"


def test_definition_fields_are_named() -> None:
    direct = {"name": "t", "description": "a", "inputSchema": {"type": "object"}, "annotations": READ_ONLY}
    through = {"name": "s__t", "description": "b", "inputSchema": {"type": "object", "properties": {}}}
    assert field_differences(direct, through, "name") == ["annotations", "description", "input schema"]


def test_the_harmless_call_is_read_only_closed_world_and_fillable() -> None:
    tools = [
        {"name": "write", "annotations": {"readOnlyHint": False}, "inputSchema": {}},
        {"name": "fetch", "annotations": {"readOnlyHint": True, "openWorldHint": True}, "inputSchema": {}},
        {"name": "unhinted", "inputSchema": {}},
        {
            "name": "needs_text",
            "annotations": READ_ONLY,
            "inputSchema": {"properties": {"text": {"type": "string"}}, "required": ["text"]},
        },
        {
            "name": "as_task",
            "annotations": READ_ONLY,
            "execution": {"taskSupport": "required"},
            "inputSchema": {},
        },
        {
            "name": "fillable",
            "annotations": READ_ONLY,
            "inputSchema": {
                "properties": {
                    "kind": {"enum": ["error", "ok"]},
                    "count": {"default": 3},
                    "zone": {"examples": ["UTC"]},
                    "optional": {"type": "string"},
                },
                "required": ["kind", "count", "zone"],
            },
        },
    ]
    assert harmless_call(tools) == HarmlessCall("fillable", {"kind": "error", "count": 3, "zone": "UTC"})
    assert harmless_call(tools[:4]) is None
