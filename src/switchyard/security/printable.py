"""Text made safe for a terminal, a log line or a diff: every invisible or control character spelled out."""

from __future__ import annotations


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with each non-printable character (C0/C1 controls, ESC, format and bidi characters, tag
    characters, line separators) written as a Python-style escape, so that nothing reaches a terminal raw."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or (keep_newlines and ch == "\n") else _escape_char(ch) for ch in text)


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
