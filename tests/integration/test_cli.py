"""The `switchyard` command, run as a real subprocess against real backends (mcp-server-time, faulty.py).

Every run gets HOME and the XDG directories inside the test's temporary directory and an explicit
`--registry`, so nothing here reads or writes the user's own config or registry.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import yaml

from switchyard.registry import Store
from tests.integration.switchyard_run import private_environment
from tests.support import faulty_argv, free_port, time_server_argv

pytestmark = pytest.mark.integration

CLI_TIMEOUT = 60.0


def _server(argv: list[str]) -> dict[str, Any]:
    return {"command": argv[0], "args": argv[1:]}


class Cli:
    """`python -m switchyard` with a private home, a config file and a registry in one directory."""

    def __init__(self, root: Path, servers: dict[str, Any], **gateway: Any) -> None:
        self.root = root
        (root / "home").mkdir(parents=True, exist_ok=True)
        self.env = private_environment(root / "home")
        self.config = root / "switchyard.yaml"
        self.registry = root / "registry.db"
        document: dict[str, Any] = {"mcpServers": servers}
        if gateway:
            document["gateway"] = gateway
        self.config.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        anyio.run(_create_registry, self.registry)  # so that commands run side by side need not migrate it

    def options(self, args: tuple[str, ...]) -> list[str]:
        """This directory's config (unless `args` name one) and registry, as the command takes them."""
        if args[0] == "config":
            return []  # `config check FILE`
        config = [] if "-c" in args else ["-c", str(self.config)]
        return config if args[0] == "status" else [*config, "--registry", str(self.registry)]

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "switchyard", *args, *self.options(args)]

    def __call__(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        """Run `switchyard ARGS -c CONFIG --registry DB` and check its exit status."""
        return self.together((args, code))[0]

    def together(self, *commands: tuple[tuple[str, ...], int]) -> list[subprocess.CompletedProcess[str]]:
        """Run independent commands side by side (each starts an interpreter); check their exit status."""
        procs = [
            subprocess.Popen(
                self.argv(*args),
                env=self.env,
                cwd=self.root,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for args, _ in commands
        ]
        results = []
        for proc, (args, code) in zip(procs, commands, strict=True):
            try:
                stdout, stderr = proc.communicate(timeout=CLI_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise
            assert proc.returncode == code, f"{args}: exit {proc.returncode}, not {code}:\n{stdout}\n{stderr}"
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
        return results

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


async def _create_registry(path: Path) -> None:
    store = await Store.open(str(path))
    await store.close()


def _error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert lines, f"no error line on stderr:\n{done.stderr}"
    return "\n".join(lines)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, {"time": _server(time_server_argv()), "faulty": _server(faulty_argv())})


# -- config check -------------------------------------------------------------------------------------


def test_config_check_starts_each_backend_and_reports_it(cli: Cli) -> None:
    done = cli("config", "check", str(cli.config))
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line.strip()}
    assert rows["time"][1:3] == ["up", "stdio"]
    assert rows["faulty"][1:5] == ["up", "stdio", "2025-11-25", "9"]  # protocol version, 9 tools
    assert "OK" in done.stdout


def test_config_check_failures(tmp_path: Path) -> None:
    missing = "switchyard-test-no-such-command"
    faulty = _server(faulty_argv())
    cli = Cli(tmp_path, {})
    typo = tmp_path / "typo.yaml"
    typo.write_text("gateway:\n  naming: prefix\n  separater: '-'\n", encoding="utf-8")
    collision = tmp_path / "collision.yaml"
    collision.write_text(json.dumps({"gateway": {"naming": "none"}, "mcpServers": {"alpha": faulty, "beta": faulty}}))
    ghost = tmp_path / "ghost.yaml"
    ghost.write_text(json.dumps({"mcpServers": {"ok": faulty, "ghost": {"command": missing}}}))

    typo_run, collision_run, ghost_run = cli.together(
        (("config", "check", str(typo)), 2),
        (("config", "check", str(collision)), 1),
        (("config", "check", str(ghost)), 1),
    )
    line = _error_line(typo_run)
    assert f"{typo}:3" in line and "separater" in line and "did you mean 'separator'" in line
    line = _error_line(collision_run)
    assert "'echo' by alpha and beta" in line and "gateway.naming is 'none'" in line
    assert _error_line(ghost_run) == f"error: server 'ghost' did not start: command not found: {missing}"
    assert "ghost" in ghost_run.stdout and "down" in ghost_run.stdout


# -- servers ------------------------------------------------------------------------------------------


def test_servers_add_show_disable_enable_remove(cli: Cli) -> None:
    local = {"command": sys.executable, "args": faulty_argv()[1:], "env": {"API_KEY": "hunter2"}}
    web = ("servers", "add", "web", "--url", "https://example.com/mcp", "--header", "Authorization=Bearer t0k")
    cli.together((web, 0), (("servers", "add", "local", "--json", json.dumps(local)), 0))
    shown, _ = cli.together((("servers", "show", "local"), 0), (("servers", "disable", "faulty"), 0))
    assert "API_KEY: ***" in shown.stdout and "hunter2" not in shown.stdout
    assert "source: registry" in shown.stdout

    listed = {s["name"]: s for s in cli.json("servers", "list")}
    assert {n: (s["source"], s["type"], s["enabled"]) for n, s in listed.items()} == {
        "time": ("config", "stdio", True),
        "faulty": ("config", "stdio", False),
        "local": ("registry", "stdio", True),
        "web": ("registry", "http", True),
    }
    assert listed["web"]["url"] == "https://example.com/mcp" and listed["web"]["headers"] == {"Authorization": "***"}
    assert "t0k" not in json.dumps(listed) and "hunter2" not in json.dumps(listed)

    cli.together((("servers", "enable", "faulty"), 0), (("servers", "remove", "local"), 0))
    table = cli("servers", "list").stdout.splitlines()
    assert table[0].split() == ["name", "source", "transport", "command", "or", "url", "enabled"]
    assert [row.split()[:3] + row.split()[-1:] for row in table[1:]] == [
        ["time", "config", "stdio", "yes"],
        ["faulty", "config", "stdio", "yes"],
        ["web", "registry", "http", "yes"],
    ]


def test_servers_errors_are_one_line(cli: Cli) -> None:
    cases = {
        ("servers", "add", "time", "--command", "x"): (1, "a server named 'time' already exists"),
        ("servers", "add", "web", "--url", "ftp://example.com"): (2, "expected an http:// or https:// URL"),
        ("servers", "remove", "faulty"): (1, "edit the file, or run `switchyard servers disable faulty`"),
        ("servers", "enable", "nope"): (1, "error: no server named 'nope' (known: time, faulty)"),
    }
    runs = cli.together(*((args, code) for args, (code, _) in cases.items()))
    for done, (args, (_, message)) in zip(runs, cases.items(), strict=True):
        line = _error_line(done)
        assert message in line, args
        assert len(line.splitlines()) == 1 and "Traceback" not in done.stderr


# -- tools --------------------------------------------------------------------------------------------


def test_tools_list(tmp_path: Path) -> None:
    cli = Cli(tmp_path, {"alpha": _server(faulty_argv()), "beta": _server(faulty_argv("--tools", "2"))})
    listed, only_beta, unknown = cli.together(
        (("tools", "list"), 0),
        (("tools", "list", "--server", "beta", "--json"), 0),
        (("tools", "list", "--server", "nope"), 1),
    )
    rows = {line.split()[0]: line.split(None, 2) for line in listed.stdout.splitlines()[1:]}
    assert len(rows) == 9 + 11 and rows["beta__tool_001"][1] == "beta"
    assert rows["alpha__echo"][1:] == ["alpha", "Echo the given text back unchanged."]
    tools = json.loads(only_beta.stdout)
    assert len(tools) == 11 and {t["server"] for t in tools} == {"beta"}
    assert {(t["name"], t["tool"]) for t in tools} >= {("beta__echo", "echo"), ("beta__tool_000", "tool_000")}
    assert _error_line(unknown) == "error: no server named 'nope' (known: alpha, beta)"


def test_tools_call_through_the_pipeline_and_the_audit_log(cli: Cli) -> None:
    faulty_only = cli.root / "faulty.yaml"  # the same registry; no time server to start for these calls
    faulty_only.write_text(json.dumps({"mcpServers": {"faulty": _server(faulty_argv())}}), encoding="utf-8")
    call = ("tools", "call")
    success, unknown, added, tool_error = cli.together(
        ((*call, "time__get_current_time", "--arg", "timezone=UTC"), 0),
        ((*call, "time__no_such_tool", "-c", str(faulty_only)), 1),
        ((*call, "faulty__add", "--args", '{"a": 2}', "--arg", "b=3", "--json", "-c", str(faulty_only)), 0),
        ((*call, "faulty__is_error", "-c", str(faulty_only)), 1),
    )
    assert "UTC" in success.stdout and json.loads(success.stdout)["timezone"] == "UTC"
    assert _error_line(unknown) == "error: Unknown tool: time__no_such_tool (not_allowed)"
    assert json.loads(added.stdout)["structuredContent"] == {"sum": 5}  # "3" was read as JSON
    assert _error_line(tool_error) == "error: tool 'faulty__is_error' reported an error"

    table = cli("audit").stdout
    rows = [line.split() for line in table.splitlines()[1:]]
    # date, time, principal, transport, method, tool, decision, reason, duration
    assert {(r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows} == {
        ("cli", "cli", "tools/call", "time__get_current_time", "allow", "ok"),
        ("cli", "cli", "tools/call", "time__no_such_tool", "deny", "unknown_server"),  # no time server there
        ("cli", "cli", "tools/call", "faulty__add", "allow", "ok"),
        ("cli", "cli", "tools/call", "faulty__is_error", "allow", "tool_error"),
    }, table


def test_tools_call_rejects_bad_arguments_before_starting_anything(cli: Cli) -> None:
    done = cli("tools", "call", "faulty__add", "--args", "[1, 2]", code=2)
    assert _error_line(done) == "error: --args must be a JSON object ({...}), got an array"


# -- status -------------------------------------------------------------------------------------------


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[Cli, int]]:
    """`switchyard serve --http 127.0.0.1:PORT`, stopped with SIGTERM (and waited for) afterwards."""
    port = free_port()
    servers = {"time": _server(time_server_argv()), "faulty": _server(faulty_argv())}
    cli = Cli(tmp_path, servers, http={"port": port})
    with (tmp_path / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            cli.argv("serve", "--http", f"127.0.0.1:{port}", "--log-level", "warning"),
            env=cli.env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"serve exited: {(tmp_path / 'serve.log').read_text()}"
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1).json()["status"] == "up":
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, "the gateway did not become ready"
            time.sleep(0.1)
        yield cli, port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise


def test_status_of_a_running_gateway(gateway: tuple[Cli, int]) -> None:
    cli, port = gateway
    done = cli("status")  # the URL comes from the config's gateway.http
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"http://127.0.0.1:{port}: up")
    rows = {line.split()[0]: line.split()[:5] for line in lines[2:]}
    assert rows == {"time": ["time", "up", "stdio", "2", "0"], "faulty": ["faulty", "up", "stdio", "9", "0"]}, (
        done.stdout
    )


def test_status_when_nothing_listens(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = cli("status", "--url", url, code=1)
    assert _error_line(done) == f"error: no gateway is answering at {url} (start one with `switchyard serve`)"


def test_serve_on_a_taken_port_fails_with_one_line(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", "--http", f"127.0.0.1:{port}", code=1)
    assert f"cannot listen on 127.0.0.1:{port}" in _error_line(done)
    assert "Traceback" not in done.stderr
