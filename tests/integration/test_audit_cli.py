"""`switchyard audit`: filters, and `--verify` naming the first record whose hash chain breaks."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from switchyard.registry import Store
from switchyard.registry.audit_values import new_record
from tests.integration.test_cli import Cli

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _fill(registry: Path) -> None:
    store = await Store.open(str(registry))
    try:
        await store.append_audit(
            [
                new_record(
                    ts=T0 + timedelta(seconds=i),
                    principal="alice" if i % 2 else "bob",
                    transport="http",
                    method="tools/call",
                    tool=f"echo__echo\n{{forged {i}}}\x1b[2K",
                    decision="deny" if i == 3 else "allow",
                    reason="not_allowed" if i == 3 else "ok",
                    remote="127.0.0.2",
                    session_id=f"session-{i}",
                )
                for i in range(1, 6)
            ]
        )
    finally:
        await store.close()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path, {})
    anyio.run(_fill, cli.registry)
    return cli


def test_audit_lists_filters_and_never_prints_raw_control_characters(cli: Cli) -> None:
    table = cli("audit", "--principal", "alice").stdout
    assert "\x1b" not in table and "forged" in table
    assert len([line for line in table.splitlines() if "alice" in line]) == 3
    records = json.loads(cli("audit", "--decision", "deny", "--json").stdout)
    assert [(r["principal"], r["reason"], r["remote"]) for r in records] == [("alice", "not_allowed", "127.0.0.2")]
    assert records[0]["session"] != "session-3" and len(records[0]["session"]) == 32
    assert records[0]["tool"] == "echo__echo\\x0a{forged 3}\\x1b[2K"


def test_verify_reports_an_intact_chain_and_then_the_first_broken_record(cli: Cli) -> None:
    assert cli("audit", "--verify").stdout.strip() == "audit chain intact: 5 records checked"
    with sqlite3.connect(cli.registry) as db:
        db.execute("UPDATE audit_log SET decision = 'allow', reason = 'ok' WHERE id = 3")
        db.execute("DELETE FROM audit_log WHERE id = 5")
    broken = cli("audit", "--verify", code=1)
    assert broken.stderr.startswith("error: audit chain broken at record 3 (2 records before it are intact):")
    assert "does not match its content" in broken.stderr and "Traceback" not in broken.stderr
    report = json.loads(cli("audit", "--verify", "--json", code=1).stdout)
    assert (report["intact"], report["checked"], report["first_broken_id"]) == (False, 2, 3)
