"""Logging set-up: always to stderr (stdout may be the stdio front), plain or JSON lines, secrets masked.

Every record passes a `RedactingFilter` on the way out: configured secret values (`remember_secrets`) and
well-known token formats are masked in the message, its arguments and any traceback, and control characters
are escaped so that a logged value cannot forge a line of its own.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from switchyard.observability.redaction import Redactor
from switchyard.security.printable import escape

# One redactor for the process: the gateway tells it its secrets once the config is read.
REDACTOR = Redactor()


def remember_secrets(values: Iterable[str]) -> None:
    """Mask these values in every log line from now on."""
    REDACTOR.add_values(values)


class RedactingFilter(logging.Filter):
    """Renders each record's message and traceback once, masked and with control characters escaped."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log what was given rather than lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = escape(self._redactor.redact(message))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry)


def configure(level: str = "INFO", *, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx2", "httpcore2", "mcp", "uvicorn.error", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
