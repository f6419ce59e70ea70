"""config/secrets: SEC-CONF-001 (backend env secrets never surface) and SEC-CONF-002 (no shell in backend specs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.security.conftest import Case
from tests.security.stdio import StdioGateway
from tests.security.world import ADMIN_API, ENV_SECRET, EVIL, METRICS_PATH, World


def cli(world: World, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "switchyard", *args, "-c", str(config or world.config_path)]
    return subprocess.run(argv, env=world.environment(), capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.case("SEC-CONF-001")
@pytest.mark.parametrize("path", ["/servers", "/servers/files", "/servers/secret_srv", "/servers/web"])
def test_the_admin_api_hides_backend_secrets(world: World, case: Case, path: str) -> None:
    reply = world.peer("admin").request("GET", ADMIN_API + path, headers=world.peer("admin").headers(session=False))
    assert reply.status == 200
    assert ENV_SECRET not in reply.text  # INV-3 checks every encoding of every canary in this reply too
    assert "***" in reply.text or "${" in reply.text


@pytest.mark.case("SEC-CONF-001")
def test_metrics_hold_no_secret(world: World, case: Case) -> None:
    reply = world.peer("admin").request("GET", METRICS_PATH, headers=world.peer("admin").headers(session=False))
    assert reply.status == 200
    assert ENV_SECRET not in reply.text


@pytest.mark.case("SEC-CONF-001")
@pytest.mark.parametrize("command", [["config", "check"], ["servers", "list", "--json"], ["status"]])
def test_the_cli_shows_the_config_without_secrets(world: World, case: Case, command: list[str]) -> None:
    done = cli(world, *command)
    case.scan(f"switchyard {' '.join(command)}", done.stdout + done.stderr)
    assert ENV_SECRET not in done.stdout + done.stderr


@pytest.mark.case("SEC-CONF-001")
@pytest.mark.parametrize("form", ["literal", "reference"])
def test_a_failing_spawn_names_the_command_not_the_environment(world: World, case: Case, form: str) -> None:
    data = yaml.safe_load(world.config_path.read_text())
    data["mcpServers"]["files"]["command"] = str(world.root / "no-such-server")
    data["mcpServers"]["files"]["env"] = {"API_TOKEN": ENV_SECRET if form == "literal" else "${CANARY_ENV_SECRET}"}
    config = world.root / f"broken-files-{form}.yaml"
    config.write_text(yaml.safe_dump(data))
    environment = world.environment()
    if form == "reference":
        environment["CANARY_ENV_SECRET"] = ENV_SECRET
    argv = [sys.executable, "-m", "switchyard", "serve", "--stdio", "-c", str(config), "--log-level", "debug"]
    argv += ["--registry", str(world.root / f"spawn-{form}.sqlite3")]
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    done = subprocess.run(
        argv, input=json.dumps(init) + "\n", env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    output = done.stdout + done.stderr
    case.scan("stdio gateway with a broken files", output)
    assert "no-such-server" in output, "the error names the command"
    assert ENV_SECRET not in output


PAYLOADS = ["x; touch {m}1", "$(touch {m}2)", "`touch {m}3`", "|| touch {m}4", "&& touch {m}5", "\n touch {m}6"]


@pytest.mark.case("SEC-CONF-002")
def test_backend_arguments_are_never_given_to_a_shell(world: World, case: Case) -> None:
    marker = world.root / "pwned"
    data = yaml.safe_load(world.config_path.read_text())
    args = ["--role", "echo", "--record", str(world.root / "records" / "injected.jsonl")]
    data["mcpServers"] = {"injected": {"command": sys.executable, "args": [str(EVIL), *args]}}
    data["mcpServers"]["injected"]["env"] = {"NOTE": "; touch " + str(marker) + "7"}
    data["mcpServers"]["injected"]["args"] += [p.format(m=marker) for p in PAYLOADS]
    data["policies"] = {}
    data["profiles"] = {}
    config = world.root / "injected.yaml"
    config.write_text(yaml.safe_dump(data))
    gateway = StdioGateway(world, config)
    try:
        gateway.initialize()
        gateway.assert_alive()
    finally:
        gateway.close()
    assert not list(world.root.glob("pwned*")), "a shell ran a backend argument"


@pytest.mark.case("SEC-CONF-002")
def test_a_command_written_as_one_shell_string_fails_as_not_found(world: World, case: Case) -> None:
    marker = world.root / "pwned-one-string"
    data = yaml.safe_load(world.config_path.read_text())
    data["mcpServers"] = {"oneliner": {"command": f"sh -c 'touch {marker}'"}}
    data["policies"], data["profiles"] = {}, {}
    config = world.root / "oneliner.yaml"
    config.write_text(yaml.safe_dump(data))
    gateway = StdioGateway(world, config)
    try:
        gateway.initialize()
        gateway.assert_alive()
        stderr = gateway.stderr_text()
    finally:
        gateway.close()
    assert not marker.exists()
    assert "not found" in stderr.lower() or "no such file" in stderr.lower(), stderr[-1000:]


@pytest.mark.case("SEC-CONF-002")
@pytest.mark.parametrize("who", ["alice", "admin"])
def test_changing_a_backend_command_through_the_admin_api_is_refused(world: World, case: Case, who: str) -> None:
    marker = world.root / "pwned-patch"
    peer = world.peer(who)
    body = {"command": "sh", "args": ["-c", f"touch {marker}"]}
    for name in ("echo", "injected-new"):
        reply = peer.request("PATCH", f"{ADMIN_API}/servers/{name}", body=body, headers=peer.headers(session=False))
        assert reply.status in ((403,) if who == "alice" else (403, 409, 422, 404))
    created = peer.request(
        "POST", f"{ADMIN_API}/servers", body={"name": "shelly", **body}, headers=peer.headers(session=False)
    )
    assert created.status in ((403,) if who == "alice" else (403, 422))
    assert not marker.exists()
    case.may_refuse("admin_forbidden", "forbidden", "command_changes_disabled", "not_found", "invalid", "admin_auth")
