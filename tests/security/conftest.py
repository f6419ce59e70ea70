"""Fixtures of the attack suite: the world (one gateway per module) and `case`, which wraps every case in the
five invariants; and the known-gaps list tests/security/unimplemented.yml.

A test names its case with `@pytest.mark.case("SEC-...")`. A test whose case id (or `id[param]`, or
`id::test_name[param]`) is listed in
unimplemented.yml and fails is reported as skipped with the listed reason; a listed test that passes fails the
run, so that the list never goes stale (the same contract as tests/conformance/expected-failures.yml).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.security.invariants import (
    Canary,
    Expectations,
    check_alive,
    check_audit,
    check_canary,
    check_resources,
    check_secrets,
    describe,
    record_baseline,
)
from tests.security.stdio import StdioGateway
from tests.security.world import World

UNIMPLEMENTED = Path(__file__).with_name("unimplemented.yml")
_OUTCOMES = pytest.StashKey[dict[str, Any]]()


def known_gaps() -> dict[str, str]:
    data = yaml.safe_load(UNIMPLEMENTED.read_text()) or {}
    return {str(key): str(value) for key, value in (data.get("cases") or {}).items()}


def _gap(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("case")
    if marker is None:
        return None
    case_id = str(marker.args[0])
    gaps = known_gaps()
    param = item.name[item.name.index("[") :] if "[" in item.name else ""
    return gaps.get(f"{case_id}::{item.name}") or gaps.get(case_id + param) or gaps.get(case_id)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "case(id): the cases-dev.yaml case a security test proves")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.security)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    reason = _gap(item)
    if reason is None or report.skipped:
        return
    seen = item.stash.setdefault(_OUTCOMES, {"failed": False})
    if report.failed and seen["failed"]:
        report.outcome = "passed"  # the invariants after an already reported gap: the item counts once, as skipped
        report.longrepr = None
    elif report.failed:
        seen["failed"] = True
        report.outcome = "skipped"
        report.longrepr = (str(item.fspath), item.location[1] or 0, f"unimplemented: {reason}")
    elif report.when == "teardown" and not seen["failed"]:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} passes but is listed in {UNIMPLEMENTED.name} ({reason!r}): remove the stale entry"
        )


# -- the world -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The default world: API keys, profiles basic/writer, every backend; one gateway for every module that does
    not define its own `world` (a module needing other settings overrides this fixture)."""
    world = World(tmp_path_factory.mktemp("world"))
    try:
        world.start()
        yield world
    finally:
        world.stop()


@pytest.fixture(scope="module")
def canary(world: World) -> Iterator[tuple[Canary, float]]:
    bob = world.peer("bob")
    bob.initialize()
    watcher = Canary(world, bob)
    baseline = watcher.baseline()
    time.sleep(0.7)  # the audit writer flushes every 0.5 s: the first case's baseline starts after these
    yield watcher, baseline
    watcher.stop()


class Case:
    """What a running case declares for the invariants checked after it."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.expect = Expectations()

    def refused(self, *reasons: str, count: int = 1) -> None:
        """The case causes `count` refusals audited with one of `reasons` (INV-5 wants exactly that many)."""
        self.expect.refusals[frozenset(reasons)] += count

    def may_refuse(self, *reasons: str) -> None:
        """Refusals the case may cause in a number it cannot know (e.g. a rate limit)."""
        self.expect.any_refusals.update(reasons)

    def may_refuse_anything(self) -> None:
        """A fuzzer: refusals of any reason are expected; the records must still be well-formed."""
        self.expect.anything = True

    def bob_takes_part(self) -> None:
        """bob is one of the case's own parties (his load is the case): INV-2 keeps its identity checks only."""
        self.expect.bob_loaded = True

    def harness_load(self) -> None:
        """The case starts a second gateway (its own world): bob's latency then measures the harness, not the case."""
        self.expect.bob_loaded = True

    def scan(self, where: str, text: str) -> None:
        """More output INV-3 must find no canary in (a CLI's output, a stdio gateway's stdout)."""
        self.expect.texts.append((where, text))

    def scan_file(self, path: Path) -> None:
        self.expect.files.append(path)


@pytest.fixture
def case(world: World, canary: tuple[Canary, float]) -> Iterator[Case]:
    """Wrap a case in the five invariants: baselines, bob's canary loop during it, the checks after it."""
    watcher, baseline_p95 = canary
    world.ensure_running()
    if world.peer("bob").session is None:
        world.peer("bob").initialize()
    for peer in world.peers.values():
        if peer.name != "bob":
            peer.session = None
    base = record_baseline(world)
    current = Case(world)
    watcher.start()
    try:
        yield current
    finally:
        watcher.stop()
    fence = watcher.fence()
    problems = check_alive(world, base)
    problems += check_canary(watcher, baseline_p95, latency=not current.expect.bob_loaded)
    problems += check_secrets(world, base, current.expect)
    if not problems[:1] or not problems[0].startswith("INV-1"):
        problems += check_resources(world, base)
    problems += check_audit(world, base, current.expect, fence)
    if problems:
        pytest.fail(describe(problems), pytrace=False)


@pytest.fixture(scope="module")
def stdio_front(world: World) -> Iterator[StdioGateway]:
    """One `switchyard serve --stdio` per module, with the world's config and registry."""
    gateway = StdioGateway(world)
    try:
        gateway.initialize()
        yield gateway
    finally:
        gateway.close()


@pytest.fixture
def stdio(stdio_front: StdioGateway, case: Case) -> Iterator[StdioGateway]:
    """The stdio front inside a case: after it, a ping must be answered (INV-1) and its output holds no secret."""
    stdio_front.drain()
    stdout_at, stderr_at = len(stdio_front.stdout), len(stdio_front.stderr_text())
    yield stdio_front
    case.scan("stdio gateway stdout", b"".join(stdio_front.stdout[stdout_at:]).decode("utf-8", "replace"))
    case.scan("stdio gateway stderr", stdio_front.stderr_text()[stderr_at:])
    stdio_front.assert_alive()
