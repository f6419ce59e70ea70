"""Fixtures shared by every test folder (helpers are in tests/support.py).

- every `async def` test runs under anyio (asyncio backend), no marker needed;
- a process-leak guard: a test that leaves a process behind fails, and the process is killed;
- `node_fixtures`: installs tests/fixtures/node once per session (scripts/install-node-fixtures.sh).
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    INSTALL_NODE_FIXTURES,
    NODE_FIXTURES,
    become_child_subreaper,
    descendants,
    find_leaked_processes,
    kill_processes,
)

LEAK_GRACE_ENV = "SWITCHYARD_LEAK_GRACE"  # seconds the guard waits for new processes to exit (default 5)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_process_leak: the process-leak guard skips this test (only for the guard's own tests)",
    )
    # Orphans of anything the tests launch (double forks, killed parents) are re-parented to pytest,
    # so the leak guard sees them as descendants.
    become_child_subreaper()


# --- anyio -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _is_coroutine_test(item: pytest.Item) -> bool:
    if not isinstance(item, pytest.Function):
        return False
    func = item.obj
    hypothesis = getattr(func, "hypothesis", None)
    if hypothesis is not None:
        func = getattr(hypothesis, "inner_test", func)
    return inspect.iscoroutinefunction(func)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _is_coroutine_test(item) and item.get_closest_marker("anyio") is None:
            item.add_marker(pytest.mark.anyio)
        # Request our session-scoped `anyio_backend` so anyio's plugin neither re-parametrizes the
        # test over every backend nor finds the test without a backend.
        if (
            isinstance(item, pytest.Function)
            and item.get_closest_marker("anyio") is not None
            and "anyio_backend" not in item.fixturenames
        ):
            item.fixturenames.insert(0, "anyio_backend")


# --- process-leak guard ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _process_leak_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves processes behind (anything it or its fixtures started), then kill them.

    Runs its check after the test's other function-scoped fixtures have been torn down."""
    if request.node.get_closest_marker("allow_process_leak") is not None:
        yield
        return
    before = descendants()
    yield
    grace = float(os.environ.get(LEAK_GRACE_ENV, "5"))
    leaked = find_leaked_processes(before, grace=grace)
    if leaked:
        kill_processes([leak.pid for leak in leaked])
        listing = "\n  ".join(str(leak) for leak in leaked)
        pytest.fail(
            f"test leaked {len(leaked)} process(es), still running {grace:g}s after it ended "
            f"(now killed):\n  {listing}",
            pytrace=False,
        )


# --- Node fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def node_fixtures() -> Path:
    """tests/fixtures/node installed (npm ci, skipped when the lockfile stamp matches).

    Skips only when npm is missing on a developer machine; with CI set it never skips."""
    in_ci = bool(os.environ.get("CI"))
    if shutil.which(os.environ.get("NPM", "npm")) is None:
        message = "npm is not on PATH: cannot install tests/fixtures/node (Node MCP servers)"
        if in_ci:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    proc = subprocess.run(
        ["bash", str(INSTALL_NODE_FIXTURES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{INSTALL_NODE_FIXTURES.name} failed with exit status {proc.returncode}; output:\n{proc.stdout[-4000:]}",
            pytrace=False,
        )
    return NODE_FIXTURES
