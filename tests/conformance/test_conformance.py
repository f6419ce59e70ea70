"""The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in tests/fixtures/node)
against the GATEWAY, fronting the conformance fixture backend under `gateway.naming: none`, for both
protocol eras with `--suite all`. Fails on any check outside tests/conformance/expected-failures.yml, and
when fewer checks pass than the floor below (so that a scenario silently not running is caught too)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anyio
import pytest

from tests.integration.harness import http_front, make_config, running_gateway, stdio_server
from tests.support import FIXTURES_DIR, REPO_ROOT, conformance_argv, node_env

pytestmark = [pytest.mark.conformance, pytest.mark.timeout(900)]

EXPECTED_FAILURES = Path(__file__).with_name("expected-failures.yml")
# Checks passed when this floor was set (the SDK reference server passes 84 and 152; the difference is listed
# in the README's conformance section).
PASSED_AT_LEAST = {"2025-11-25": 82, "2026-07-28": 152}


async def test_the_gateway_passes_the_conformance_suite(tmp_path: Path, node_fixtures: Path) -> None:
    backend = stdio_server([sys.executable, str(FIXTURES_DIR / "servers" / "conformance_server.py"), "--stdio"])
    config = make_config({"conformance": backend}, naming="none")
    async with running_gateway(config) as gateway, http_front(gateway) as url:
        result = await anyio.run_process(
            [str(REPO_ROOT / "scripts" / "conformance"), url, "--expected-failures", str(EXPECTED_FAILURES)],
            env={"OUT_DIR": str(tmp_path), "SKIP_INSTALL": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"},
            check=False,
        )
    report = result.stdout.decode() + result.stderr.decode()
    counts = dict(re.findall(r"\[(\S+)\] checks: (\d+) passed", report))
    assert set(counts) == set(PASSED_AT_LEAST), report[-4000:]
    for version, floor in PASSED_AT_LEAST.items():
        assert int(counts[version]) >= floor, f"{version}: {counts[version]} checks passed, expected >= {floor}"
    assert result.returncode == 0, report[-4000:]


# The suite's client scenarios that apply to the gateway's backend side (tests/conformance/upstream_client.py
# fronts the suite's test server and calls each tool with no arguments). Left out, with reasons: the auth/*
# scenarios (OAuth on the upstream side is not built yet); elicitation-sep1034-client-defaults and
# sep-2322-client-request-state (they need a real client behind the gateway to answer); http-custom-headers
# and json-schema-2020-12-preservation (they need scenario-specific tool arguments or echoes, which only a
# model behind a client would choose).
CLIENT_SCENARIOS = [
    "initialize",
    "tools_call",
    "request-metadata",
    "http-standard-headers",
    "http-invalid-tool-headers",
    "json-schema-ref-no-deref",
    "sse-retry",
]


@pytest.mark.parametrize("scenario", CLIENT_SCENARIOS)
async def test_the_gateway_upstream_passes_client_scenarios(scenario: str, tmp_path: Path, node_fixtures: Path) -> None:
    wrapper = f"{sys.executable} {Path(__file__).with_name('upstream_client.py')}"
    result = await anyio.run_process(
        conformance_argv("client", "--command", wrapper, "--scenario", scenario, "-o", str(tmp_path)),
        env=node_env(),
        check=False,
    )
    report = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0 and "OVERALL: PASSED" in report, report[-3000:]
