"""`switchyard import`, `connect`, `restore` and `export`, run as subprocesses in a temporary HOME and project.

The clients' files are the fixtures in tests/fixtures/clients, put where each client keeps them. Backups go to a
data directory outside HOME, so that "HOME is exactly as before" can be checked file by file after `restore`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

SWITCHYARD = Path(sys.executable).parent / "switchyard"
CLIENT_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "clients"
CLI_TIMEOUT = 60.0


@dataclass
class Desk:
    """A temporary HOME, project folder and data folder, and the `switchyard` command run in them."""

    home: Path
    project: Path
    data: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHYARD_", "XDG_", "CLAUDE_", "CODEX_"))}
        env.update(HOME=str(self.home), XDG_DATA_HOME=str(self.data), APPDATA=str(self.home / "AppData"))
        return env

    @property
    def config(self) -> Path:
        return self.home / ".config" / "switchyard" / "switchyard.yaml"

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(SWITCHYARD), *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )
        if ok:
            assert done.returncode == 0, f"switchyard {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done

    def place(self, fixture: str, where: str) -> Path:
        """Copy a fixture to `~/...` or `./...` (the project)."""
        base = self.home if where.startswith("~/") else self.project
        path = base / where.removeprefix("~/").removeprefix("./")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CLIENT_FIXTURES / fixture, path)
        return path


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    desk = Desk(tmp_path / "home", tmp_path / "home" / "shop", tmp_path / "data")
    desk.project.mkdir(parents=True)
    return desk


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under `root`."""
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None for path in sorted(root.rglob("*"))
    }


def servers(path: Path) -> dict[str, dict[str, object]]:
    return yaml.safe_load(path.read_text())["servers"]


# -- import


def test_import_without_an_argument_finds_every_client_present(desk: Desk) -> None:
    desk.place("claude_desktop_config.json", "~/.config/Claude/claude_desktop_config.json")
    desk.place("mcp.json", "./.mcp.json")
    desk.place("vscode_mcp.json", "./.vscode/mcp.json")
    desk.place("windsurf_mcp_config.json", "~/.codeium/windsurf/mcp_config.json")
    desk.place("gemini_settings.json", "~/.gemini/settings.json")
    desk.place("codex_config.toml", "~/.codex/config.toml")
    desk.place("cursor_mcp.json", "~/.cursor/mcp.json")
    (desk.project / ".env").write_text("LOG_LEVEL=info\n")  # the env file of Cursor's notes and VS Code's fetch
    done = desk.run("import", "--on-clash", "rename")
    for path in (
        desk.home / ".config/Claude/claude_desktop_config.json",
        desk.project / ".mcp.json",
        desk.project / ".vscode/mcp.json",
        desk.home / ".codeium/windsurf/mcp_config.json",
        desk.home / ".gemini/settings.json",
        desk.home / ".codex/config.toml",
        desk.home / ".cursor/mcp.json",
    ):
        assert f" {path}: " in done.stdout
    imported = servers(desk.config)
    assert {"filesystem", "sentry", "perplexity", "userjot", "pythonTools", "context7", "linear"} <= set(imported)
    assert "github-vscode" in imported and "github" in imported  # the same name for different servers: renamed
    assert yaml.safe_load(desk.config.read_text())["gateway"] == {"naming": "auto"}
    variables = {"TZ", "SENTRY_TOKEN", "PERPLEXITY_KEY", "GITHUB_TOKEN", "LINEAR_API_KEY", "USERJOT_API_TOKEN",
                 "DB_CONNECTION_STRING", "EXTERNAL_API_KEY", "GITHUB_PAT", "DOCS_TOKEN", "PATH_EXTRA"}  # fmt: skip
    check = subprocess.run(
        [str(SWITCHYARD), "config", "check", str(desk.config), "--no-probe"],
        env=desk.env | dict.fromkeys(variables, "set") | {"HOME": str(desk.home)},
        cwd=desk.project,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert check.returncode == 0, check.stderr  # what import wrote is a valid Switchyard config


def test_dry_run_shows_a_diff_and_writes_nothing(desk: Desk) -> None:
    desk.place("claude_desktop_config.json", "~/.config/Claude/claude_desktop_config.json")
    desk.config.parent.mkdir(parents=True)
    desk.config.write_text("# mine\ngateway:\n  naming: prefix\nservers: {}\n")
    before = desk.config.read_bytes()
    done = desk.run("import", "claude-desktop", "--dry-run")
    assert f"--- {desk.config}\n+++ {desk.config}\n" in done.stdout
    assert "+  filesystem:\n" in done.stdout and "+    command: npx\n" in done.stdout
    assert "suggestion: set gateway.naming: auto" in done.stdout
    assert desk.config.read_bytes() == before


def test_importing_twice_adds_nothing_the_second_time(desk: Desk) -> None:
    desk.place("claude_desktop_config.json", "~/.config/Claude/claude_desktop_config.json")
    desk.run("import", "claude-desktop")
    first = desk.config.read_bytes()
    done = desk.run("import", "claude-desktop")
    assert "already present: filesystem" in done.stdout and "already present: github" in done.stdout
    assert desk.config.read_bytes() == first


def test_a_name_clash_stops_the_import_with_the_choices(desk: Desk) -> None:
    desk.place("claude_desktop_config.json", "~/.config/Claude/claude_desktop_config.json")
    desk.config.parent.mkdir(parents=True)
    desk.config.write_text("servers:\n  github:\n    url: https://api.githubcopilot.com/mcp/  # the remote one\n")
    before = desk.config.read_bytes()
    done = desk.run("import", "claude-desktop", ok=False)
    assert done.returncode == 1
    assert "github (from Claude Desktop" in done.stderr
    assert "--on-clash: rename" in done.stderr and "skip" in done.stderr and "replace" in done.stderr
    assert desk.config.read_bytes() == before
    desk.run("import", "claude-desktop", "--on-clash", "rename")
    text = desk.config.read_text()
    assert "# the remote one" in text
    assert set(servers(desk.config)) == {"github", "filesystem", "github-claude-desktop"}


def test_vscode_inputs_become_variables_to_set(desk: Desk) -> None:
    desk.place("vscode_mcp.json", "./.vscode/mcp.json")
    done = desk.run("import", str(desk.project / ".vscode" / "mcp.json"))
    assert "PERPLEXITY_KEY  (VS Code input 'perplexity-key' (Perplexity API Key))" in done.stdout
    assert servers(desk.config)["perplexity"]["env"] == {"PERPLEXITY_API_KEY": "${PERPLEXITY_KEY}"}
    assert servers(desk.config)["fetch"]["envFile"] == str(desk.project / ".env")


def test_literal_secrets_are_kept_with_a_warning(desk: Desk) -> None:
    desk.place("claude_desktop_config.json", "~/.config/Claude/claude_desktop_config.json")
    done = desk.run("import", "claude-desktop")
    assert "warning: github: env 'GITHUB_PERSONAL_ACCESS_TOKEN' is a literal value" in done.stderr
    assert servers(desk.config)["github"]["env"] == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_exampleexampleexample0000"}


def test_no_client_config_is_a_clear_error(desk: Desk) -> None:
    done = desk.run("import", "cursor", ok=False)
    assert done.returncode == 1
    assert f"no MCP servers found (looked in: {desk.home / '.cursor' / 'mcp.json'}" in done.stderr


# -- connect and restore


def test_connect_refuses_servers_not_imported_yet(desk: Desk) -> None:
    original = desk.place("claude_desktop_config.json", "~/.config/Claude/claude_desktop_config.json")
    before = original.read_bytes()
    done = desk.run("connect", "claude-desktop", ok=False)
    assert done.returncode == 1
    assert "run `switchyard import claude-desktop` first (or pass --import)" in done.stderr
    assert original.read_bytes() == before


def test_connect_then_restore_gives_back_every_byte(desk: Desk) -> None:
    original = desk.place("claude_desktop_config.json", "~/.config/Claude/claude_desktop_config.json")
    desk.run("import", "claude-desktop")
    before = snapshot(desk.home)
    done = desk.run("connect", "claude-desktop")
    assert "undo with: switchyard restore claude-desktop" in done.stdout

    rewritten = json.loads(original.read_text())
    assert list(rewritten) == ["mcpServers", "globalShortcut"] and rewritten["globalShortcut"] == "Alt+Space"
    assert list(rewritten["mcpServers"]) == ["switchyard"]
    entry = rewritten["mcpServers"]["switchyard"]
    assert entry["command"] == str(SWITCHYARD)
    assert entry["args"] == ["serve", "--stdio", "--config", str(desk.config)]

    [backup] = (desk.data / "switchyard" / "backups" / "claude-desktop").iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    [saved] = manifest["files"]
    assert saved["original"] == str(original)
    assert (backup / saved["copy"]).read_bytes() == before[".config/Claude/claude_desktop_config.json"]

    assert "nothing to change" in desk.run("connect", "claude-desktop").stdout  # connected already: no new backup
    config = desk.config.read_bytes()
    desk.run("import", "claude-desktop")  # the gateway's own entry is not a server to import
    assert desk.config.read_bytes() == config
    restored = desk.run("restore", "claude-desktop")
    assert f"restored {original}" in restored.stdout
    assert snapshot(desk.home) == before


def test_connect_creates_the_gateway_entry_where_none_was_and_restore_removes_it(desk: Desk) -> None:
    desk.place("mcp.json", "./.mcp.json")  # project scope only: ~/.claude.json does not exist yet
    before = snapshot(desk.home)
    desk.run("connect", "claude-code", "--import", "--config", str(desk.home / "sy.yaml"))
    assert json.loads((desk.project / ".mcp.json").read_text()) == {"mcpServers": {}}
    user = json.loads((desk.home / ".claude.json").read_text())
    assert user["mcpServers"]["switchyard"]["type"] == "stdio"
    assert user["mcpServers"]["switchyard"]["args"][-1] == str(desk.home / "sy.yaml")
    desk.run("restore", "claude-code")
    after = snapshot(desk.home)
    assert after.pop("sy.yaml") is not None  # the Switchyard config that --import wrote stays
    assert after == before


def test_connect_over_http_where_the_client_takes_urls(desk: Desk) -> None:
    desk.place("codex_config.toml", "~/.codex/config.toml")
    desk.place("claude_desktop_config.json", "~/.config/Claude/claude_desktop_config.json")
    desk.run("import", "codex")
    desk.run("import", "claude-desktop")
    desk.run("connect", "codex", "--http", "http://127.0.0.1:8765/mcp")
    text = (desk.home / ".codex" / "config.toml").read_text()
    assert text.startswith("# Codex configuration\n")
    document = tomllib.loads(text)
    assert document["mcp_servers"] == {"switchyard": {"url": "http://127.0.0.1:8765/mcp"}}
    assert document["profiles"] == {"fast": {"model": "gpt-5-mini"}}
    refused = desk.run("connect", "claude-desktop", "--http", "http://127.0.0.1:8765/mcp", ok=False)
    assert refused.returncode == 2 and "local (stdio) servers only" in refused.stderr


def test_restore_lists_backups_and_restores_the_one_asked_for(desk: Desk) -> None:
    original = desk.place("cursor_mcp.json", "~/.cursor/mcp.json")
    first = original.read_bytes()
    desk.run("connect", "cursor", "--import")
    original.write_bytes(first)  # the user undoes it by hand, then connects again
    desk.run("connect", "cursor")
    listed = desk.run("restore", "cursor", "--list").stdout.splitlines()
    assert listed[0].split() == ["TIMESTAMP", "FILES"]
    stamps = [line.split()[0] for line in listed[1:]]
    assert len(stamps) == 2 and stamps == sorted(stamps, reverse=True)
    desk.run("restore", "cursor", "--at", stamps[-1])
    assert original.read_bytes() == first
    missing = desk.run("restore", "cursor", "--at", "1999", ok=False)
    assert missing.returncode == 1 and "no backup of Cursor at '1999'" in missing.stderr


# -- export


def test_export_writes_switchyard_servers_in_the_clients_format(desk: Desk) -> None:
    desk.place("windsurf_mcp_config.json", "~/.codeium/windsurf/mcp_config.json")
    desk.run("import", "windsurf")
    done = subprocess.run(
        [str(SWITCHYARD), "export", "vscode", "--config", str(desk.config)],
        cwd=desk.project,
        env=desk.env,
        capture_output=True,
        timeout=CLI_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)
    assert exported == {
        "servers": {
            "git": {
                "type": "stdio",
                "command": "uvx",
                "args": ["mcp-server-git", "--repository", f"{desk.home}/src/app"],
            },
            "userjot": {
                "type": "http",
                "url": "https://api.userjot.com/v1/mcp",
                "headers": {"Authorization": "Bearer ${env:USERJOT_API_TOKEN}"},
            },
        }
    }
    assert b"left out puppeteer: disabled" in done.stderr
    out = desk.home / "exported.json"
    desk.run("export", "claude-desktop", "--config", str(desk.config), "--output", str(out))
    assert json.loads(out.read_text())["mcpServers"]["git"]["command"] == "uvx"
    assert (
        "left out userjot: Claude Desktop's config file takes local (stdio) servers only"
        in desk.run("export", "claude-desktop", "--config", str(desk.config)).stderr
    )
