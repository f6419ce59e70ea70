"""Audit values: control characters escaped, values cut to their column with a marker, sessions hashed."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from switchyard.registry.audit_values import LIMITS, MAX_ARGUMENT_ITEMS, bounded_json, clip, new_record, session_hash
from switchyard.registry.canonical import audit_hash

FORGED = 'echo__echo\n{"ts":"2026-01-01T00:00:00Z","principal":"admin","decision":"allow","tool":"admin_tools__x"}'


def record(**fields: object) -> object:
    base: dict[str, object] = {
        "ts": datetime(2026, 1, 1, tzinfo=UTC),
        "principal": "alice",
        "transport": "http",
        "method": "tools/call",
        "decision": "deny",
        "reason": "unknown_tool",
    }
    return new_record(**{**base, **fields})  # type: ignore[arg-type]


def test_a_forged_record_in_a_tool_name_stays_one_escaped_value() -> None:
    rec = record(tool=FORGED, request_id="7\r\n8", remote="127.0.0.1\x85forged: 1")
    assert "\n" not in rec.tool and rec.tool.startswith("echo__echo\\x0a{")
    assert rec.request_id == "7\\x0d\\x0a8"
    assert rec.remote == "127.0.0.1\\x85forged: 1"


def test_long_values_are_cut_to_their_column_with_a_marker() -> None:
    huge = "x" * (1 << 20)
    rec = record(tool=huge, principal=huge, method=huge, reason=huge, detail=huge, arguments={"text": huge})
    for name in ("tool", "principal", "method", "reason", "detail"):
        value = getattr(rec, name)
        assert len(value) <= LIMITS[name], name
        assert value.endswith(f"[truncated {1 << 20} chars]"), name
    assert rec.arguments["text"].endswith("[truncated 1048576 chars]")
    assert clip("short", 10) == "short"


def test_sessions_are_hashed_never_kept() -> None:
    rec = record(session_id="6f1c0f6c-secret-session")
    assert rec.session == session_hash("6f1c0f6c-secret-session")
    assert rec.session is not None and "secret" not in rec.session and len(rec.session) == 32
    assert record().session is None


def test_recorded_arguments_are_bounded_in_size_and_depth() -> None:
    nested: object = "leaf"
    for _ in range(20):
        nested = {"d": nested}
    value = bounded_json({"many": list(range(500)), "nested": nested, "esc": "\x1b]8;;http://x\x07"})
    assert len(value["many"]) == MAX_ARGUMENT_ITEMS + 1 and value["many"][-1] == "…[truncated 500 items]"
    assert "…[nested too deep]" in repr(value["nested"])
    assert value["esc"] == "\\x1b]8;;http://x\\x07"


@given(st.text())
def test_any_text_becomes_printable_and_hashable(text: str) -> None:
    rec = record(tool=text, principal=text or "p")
    assert rec.tool is not None and rec.tool.isprintable()
    audit_hash(None, rec)  # lone surrogates and all: no UnicodeEncodeError
