"""`switchyard doctor` finds each kind of problem on a real machine and says how to fix it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.integration.switchyard_run import private_environment, stdio_entry, switchyard, write_config
from tests.support import faulty_argv, free_port, time_server_argv

pytestmark = pytest.mark.integration


def _doctor(tmp_path: Path, config: Path, *options: str, code: int, **env: str) -> dict[str, dict[str, Any]]:
    home = tmp_path / "home"
    run = switchyard("doctor", "-c", str(config), "--json", *options, home=home, env=private_environment(home, **env))
    assert run.returncode == code, run.stdout + run.stderr
    checks = json.loads(run.stdout)["checks"]
    return {check["check"]: check for check in checks}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port held by a plain listening socket (not a Switchyard)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_healthy_setup_passes_every_check_and_verifies(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "switchyard.json",
        {"time": stdio_entry(time_server_argv())},
        gateway={"naming": "auto", "http": {"port": free_port()}},
    )

    checks = _doctor(tmp_path, config, code=0)

    assert all(check["status"] == "OK" for check in checks.values()), checks
    assert checks["verify time"]["detail"] == "identical"
    assert checks["mcp SDK"]["detail"]
    assert checks["command time"]["detail"].endswith(f"(Python {checks['python']['detail']})")


def test_each_problem_is_named_with_its_fix(tmp_path: Path, busy_port: int) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the registry's directory should be")
    config = write_config(
        tmp_path / "switchyard.json",
        {
            "missing": {"command": "no-such-command-for-doctor"},
            "needs-token": stdio_entry(faulty_argv(), env={"API_TOKEN": "${DOCTOR_TEST_TOKEN}"}),
            "with-env-file": stdio_entry(faulty_argv(), envFile="absent.env"),
            "remote": {"type": "http", "url": f"http://127.0.0.1:{free_port()}/mcp"},
            "nowhere": {"type": "http", "url": "http://doctor-test.invalid/mcp"},
        },
        gateway={"http": {"port": busy_port}, "registry": str(blocked / "registry.db")},
    )

    checks = _doctor(tmp_path, config, code=1)

    missing = checks["command missing"]
    assert missing["status"] == "FAIL"
    assert missing["detail"] == "'no-such-command-for-doctor' is not on PATH or an existing file"
    assert "install no-such-command-for-doctor" in missing["fix"]

    unset = checks["environment"]
    assert unset["status"] == "FAIL" and unset["detail"].startswith("${DOCTOR_TEST_TOKEN} is not set (used on line")
    assert unset["fix"].startswith("export DOCTOR_TEST_TOKEN=")

    env_file = checks["envFile with-env-file"]
    assert env_file["status"] == "FAIL" and env_file["detail"] == f"{tmp_path / 'absent.env'} does not exist"
    assert "remove envFile" in env_file["fix"]

    assert checks["config"]["status"] == "OK"  # the unset variable and the envFile are reported on their own
    refused = checks["url remote"]
    assert (
        refused["status"] == "FAIL"
        and "unreachable: connection refused: nothing listens at 127.0.0.1:" in (refused["detail"])
    )
    assert "start the server" in refused["fix"]
    assert "DNS: cannot resolve host doctor-test.invalid" in checks["url nowhere"]["detail"]

    port = checks["http port"]
    assert port["status"] == "FAIL" and port["detail"] == f"127.0.0.1:{busy_port} is in use by another program"
    assert "gateway.http.port" in port["fix"]

    registry = checks["registry"]
    assert registry["status"] == "FAIL" and registry["detail"] == f"{blocked} is a file, not a directory"
    assert "--registry" in registry["fix"]

    assert checks["verify"]["status"] == "WARN"  # not run while the setup has failures
    assert checks["command needs-token"]["status"] == "OK"


def test_the_variable_is_named_never_its_value(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "switchyard.json",
        {"svc": stdio_entry(faulty_argv(), env={"A": "${DOCTOR_SET}", "B": "${DOCTOR_UNSET}"})},
        gateway={"http": {"port": free_port()}},
    )

    home = tmp_path / "home"
    run = switchyard(
        "doctor", "-c", str(config), "--no-verify", home=home, env=private_environment(home, DOCTOR_SET="s3cr3t-value")
    )

    assert run.returncode == 1
    assert "${DOCTOR_UNSET} is not set" in run.stdout
    assert "export DOCTOR_UNSET=" in run.stdout
    assert "s3cr3t-value" not in run.stdout + run.stderr
    assert "DOCTOR_SET}" not in run.stdout  # a set variable is not a problem


def test_a_config_error_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "switchyard.yaml"
    config.write_text("mcpServers:\n  time:\n    comand: mcp-server-time\n", encoding="utf-8")

    checks = _doctor(tmp_path, config, "--no-verify", code=1)

    assert checks["config"]["status"] == "FAIL"
    assert checks["config"]["detail"].startswith(f"{config}:3: mcpServers.time.comand: unknown key 'comand'")
    assert "switchyard config check" in checks["config"]["fix"]


def test_a_running_switchyard_on_the_port_is_not_a_problem(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "switchyard.json", {"faulty": stdio_entry(faulty_argv())}, gateway={"http": {"port": port}}
    )
    home = tmp_path / "home"
    home.mkdir()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "switchyard", "serve", "-c", str(config), "--log-level", "error"],
        env=private_environment(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)

        checks = _doctor(tmp_path, config, "--no-verify", code=0)

        assert checks["http port"] == {
            "check": "http port",
            "status": "OK",
            "detail": f"127.0.0.1:{port} is in use by a running Switchyard (/healthz answers)",
            "fix": None,
        }
    finally:
        gateway.terminate()
        gateway.wait(timeout=15)
