"""Each MCP client's config format: reading the fixture files written from the clients' documentation, rewriting
them in place, and round trips of generated servers through every format and Switchyard's own config."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchyard.clients.base import LOCAL, PROJECT, USER, ClientFormat, Entry, Location, Notes, Place, Unsupported
from switchyard.clients.exporting import export
from switchyard.clients.formats import FORMATS, format_of
from switchyard.clients.importing import Source, apply_plan, plan_import
from switchyard.clients.switchyard_file import SwitchyardFile, servers_in

CLIENT_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "clients"
HOME = Path("/home/alex")
PROJECT_DIR = Path("/home/alex/shop")
PLACE = Place(HOME, PROJECT_DIR, "linux", {})


def location(client: str, scope: str) -> Location:
    return next(loc for loc in FORMATS[client].locations(PLACE) if loc.scope == scope)


def read_fixture(client: str, fixture: str, scope: str = USER) -> tuple[dict[str, Entry], Notes]:
    notes = Notes()
    data = (CLIENT_FIXTURES / fixture).read_bytes()
    return FORMATS[client].read(data, location(client, scope), PLACE, notes), notes


# -- reading each client's file


def test_claude_desktop_reads_local_servers_with_their_env() -> None:
    servers, _ = read_fixture("claude-desktop", "claude_desktop_config.json")
    assert servers == {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/alex/Desktop", "/Users/alex/Downloads"],
        },
        "github": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_exampleexampleexample0000"},
        },
    }


def test_claude_code_reads_user_local_and_project_scopes() -> None:
    user, _ = read_fixture("claude-code", "claude.json", USER)
    local, _ = read_fixture("claude-code", "claude.json", LOCAL)
    project, _ = read_fixture("claude-code", "mcp.json", PROJECT)
    assert user == {
        "memory": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-memory"],
            "env": {"MEMORY_FILE_PATH": "${HOME}/.memory.json"},
        }
    }
    assert local == {
        "postgres": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-postgres", "postgresql://localhost/shop"],
            "env": {},
        }
    }
    assert project == {
        "time": {"command": "uvx", "args": ["mcp-server-time", "--local-timezone", "${TZ:-UTC}"]},
        "sentry": {"url": "https://mcp.sentry.dev/mcp", "headers": {"Authorization": "Bearer ${SENTRY_TOKEN}"}},
        "legacy-events": {"type": "sse", "url": "https://events.example.com/sse"},
    }


def test_claude_code_local_scope_is_the_current_projects_only() -> None:
    elsewhere = Place(HOME, Path("/home/alex/other"), "linux", {})
    client = FORMATS["claude-code"]
    local = next(loc for loc in client.locations(elsewhere) if loc.scope == LOCAL)
    assert client.read((CLIENT_FIXTURES / "claude.json").read_bytes(), local, elsewhere, Notes()) == {}


def test_cursor_reads_env_references_and_user_home() -> None:
    servers, _ = read_fixture("cursor", "cursor_mcp.json")
    assert servers == {
        "linear": {"url": "https://mcp.linear.app/mcp", "headers": {"Authorization": "Bearer ${LINEAR_API_KEY}"}},
        "notes": {
            "command": "python",
            "args": ["/home/alex/tools/notes_server.py"],
            "env": {"NOTES_DIR": "/home/alex/notes"},
            "envFile": ".env",
        },
    }


def test_vscode_reads_jsonc_inputs_env_file_and_workspace_folder() -> None:
    servers, notes = read_fixture("vscode", "vscode_mcp.json", PROJECT)
    assert servers == {
        "perplexity": {
            "command": "npx",
            "args": ["-y", "server-perplexity-ask"],
            "env": {"PERPLEXITY_API_KEY": "${PERPLEXITY_KEY}"},
        },
        "fetch": {"command": "uvx", "args": ["mcp-server-fetch"], "envFile": "/home/alex/shop/.env"},
        "github": {"url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}},
    }
    assert notes.variables == {"PERPLEXITY_KEY": "VS Code input 'perplexity-key' (Perplexity API Key)"}


def test_windsurf_reads_server_url_and_disabled() -> None:
    servers, _ = read_fixture("windsurf", "windsurf_mcp_config.json")
    assert servers == {
        "git": {"command": "uvx", "args": ["mcp-server-git", "--repository", "/home/alex/src/app"], "env": {}},
        "userjot": {
            "url": "https://api.userjot.com/v1/mcp",
            "headers": {"Authorization": "Bearer ${USERJOT_API_TOKEN}"},
        },
        "puppeteer": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-puppeteer"], "disabled": True},
    }


def test_gemini_reads_http_url_sse_url_and_bare_references() -> None:
    servers, notes = read_fixture("gemini", "gemini_settings.json")
    assert servers == {
        "pythonTools": {
            "command": "python",
            "args": ["-m", "my_mcp_server", "--port", "8080"],
            "cwd": "./mcp-servers/python",
            "env": {"DATABASE_URL": "${DB_CONNECTION_STRING}", "API_KEY": "${EXTERNAL_API_KEY}"},
        },
        "github": {"url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${GITHUB_PAT}"}},
        "events": {"type": "sse", "url": "http://localhost:8080/sse"},
    }
    assert sorted(notes.dropped) == [
        "events: 'trust' not carried over",
        "github: 'timeout' not carried over",
        "pythonTools: 'timeout' not carried over",
    ]


def test_codex_reads_tables_env_vars_bearer_token_and_enabled() -> None:
    servers, notes = read_fixture("codex", "codex_config.toml")
    assert servers == {
        "context7": {
            "command": "npx",
            "args": ["-y", "@upstash/context7-mcp"],
            "env": {"CONTEXT7_API_KEY": "ctx7sk-example"},
        },
        "docs": {
            "url": "https://docs.example.com/mcp",
            "headers": {"X-Team": "platform", "Authorization": "Bearer ${DOCS_TOKEN}"},
        },
        "shell": {
            "command": "/usr/local/bin/shell-mcp",
            "env": {"PATH_EXTRA": "${PATH_EXTRA}"},
            "cwd": "/srv/tools",
            "disabled": True,
        },
    }
    assert notes.dropped == ["context7: 'startup_timeout_sec' not carried over"]


@pytest.mark.parametrize(
    ("path", "client"),
    [
        ("~/.config/Claude/claude_desktop_config.json", "claude-desktop"),
        ("proj/.mcp.json", "claude-code"),
        ("~/.claude.json", "claude-code"),
        ("~/.cursor/mcp.json", "cursor"),
        ("proj/.vscode/mcp.json", "vscode"),
        ("~/.config/Code/User/mcp.json", "vscode"),
        ("~/.codeium/windsurf/mcp_config.json", "windsurf"),
        ("~/.gemini/settings.json", "gemini"),
        ("~/.codex/config.toml", "codex"),
    ],
)
def test_a_client_file_is_recognised_by_its_path(path: str, client: str) -> None:
    found = format_of(Path(path))
    assert found is not None and found.name == client


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("darwin", {}, "/home/alex/Library/Application Support/Claude/claude_desktop_config.json"),
        (
            "win32",
            {"APPDATA": "/c/Users/alex/AppData/Roaming"},
            "/c/Users/alex/AppData/Roaming/Claude/claude_desktop_config.json",
        ),
        ("linux", {}, "/home/alex/.config/Claude/claude_desktop_config.json"),
        ("linux", {"XDG_CONFIG_HOME": "/xdg"}, "/xdg/Claude/claude_desktop_config.json"),
    ],
)
def test_claude_desktop_location_per_platform(platform: str, environ: dict[str, str], expected: str) -> None:
    [found] = FORMATS["claude-desktop"].locations(Place(HOME, PROJECT_DIR, platform, environ))
    assert found.path == Path(expected)


# -- rewriting in place


def test_rewriting_keeps_the_other_keys_their_order_and_the_indentation() -> None:
    original = b'{\n\t"theme": "dark",\n\t"mcpServers": {\n\t\t"a": {"command": "x"}\n\t},\n\t"zoom": 2\n}\n'
    client = FORMATS["claude-desktop"]
    out = client.render(original, location("claude-desktop", USER), {"a"}, {"switchyard": {"command": "sy"}})
    expected = '{\n\t"theme": "dark",\n\t"mcpServers": {\n\t\t"switchyard": {\n\t\t\t"command": "sy"\n\t\t}\n\t},\n'
    assert out == (expected + '\t"zoom": 2\n}\n').encode()


def test_claude_code_local_scope_rewrite_touches_only_that_project() -> None:
    client = FORMATS["claude-code"]
    original = (CLIENT_FIXTURES / "claude.json").read_bytes()
    out = client.render(original, location("claude-code", LOCAL), {"postgres"}, {})
    document = yaml.safe_load(out)
    assert document["projects"]["/home/alex/shop"] == {
        "allowedTools": [],
        "hasTrustDialogAccepted": True,
        "mcpServers": {},
    }
    assert document["mcpServers"] == yaml.safe_load(original)["mcpServers"]
    assert list(document) == ["numStartups", "theme", "mcpServers", "projects"]


def test_codex_rewrite_keeps_comments_and_other_tables() -> None:
    client = FORMATS["codex"]
    original = (CLIENT_FIXTURES / "codex_config.toml").read_bytes()
    out = client.render(
        original, location("codex", USER), {"context7"}, {"switchyard": {"url": "http://127.0.0.1:8765/mcp"}}
    )
    text = out.decode()
    assert text.startswith('# Codex configuration\nmodel = "gpt-5-codex"\n')
    assert "# A remote server; the token comes from the environment.\n" in text
    document = tomllib.loads(text)
    assert set(document["mcp_servers"]) == {"docs", "shell", "switchyard"}
    assert document["mcp_servers"]["switchyard"] == {"url": "http://127.0.0.1:8765/mcp"}
    assert document["profiles"] == {"fast": {"model": "gpt-5-mini"}}


def test_switchyard_file_keeps_comments_when_servers_are_added(tmp_path: Path) -> None:
    path = tmp_path / "switchyard.yaml"
    path.write_text(
        "# my gateway\ngateway:\n  naming: prefix  # keep prefixes\nservers:\n  a:\n    command: x  # the a server\n"
    )
    target = SwitchyardFile(path)
    target.put("b", {"command": "y", "args": ["1", "yes", "null", "007"], "env": {"ON": "true"}})
    target.write()
    text = path.read_text()
    assert text.startswith(
        "# my gateway\ngateway:\n  naming: prefix  # keep prefixes\nservers:\n  a:\n    command: x  # the a server\n"
    )
    assert yaml.safe_load(text)["servers"]["b"] == {
        "command": "y",
        "args": ["1", "yes", "null", "007"],
        "env": {"ON": "true"},
    }


def test_a_new_switchyard_file_asks_for_auto_naming(tmp_path: Path) -> None:
    target = SwitchyardFile(tmp_path / "new.yaml")
    target.put("a", {"command": "x"})
    assert yaml.safe_load(target.text()) == {"gateway": {"naming": "auto"}, "servers": {"a": {"command": "x"}}}


def test_claude_desktop_cannot_take_a_remote_server() -> None:
    with pytest.raises(Unsupported):
        FORMATS["claude-desktop"].render(
            None, location("claude-desktop", USER), set(), {"r": {"url": "https://x.example/mcp"}}
        )


# -- merging


def _source(client: str, servers: dict[str, Entry]) -> Source:
    return Source(FORMATS[client], location(client, USER), servers, Notes())


def test_import_skips_servers_already_present_and_reports_clashes() -> None:
    existing = {"time": {"command": "uvx", "args": ["mcp-server-time"]}, "docs": {"url": "https://a.example/mcp"}}
    incoming = {
        "clock": {"command": "uvx", "args": ["mcp-server-time"]},  # the same server under another name
        "docs": {"url": "https://b.example/mcp"},  # another server under a taken name
        "new": {"command": "new-server"},
    }
    plan = plan_import([_source("cursor", incoming)], existing, None)
    assert [(item.name, holder) for item, holder in plan.present] == [("clock", "time")]
    assert [(item.name, holder) for item, holder in plan.clashes] == [("docs", "docs")]
    assert [item.name for item in plan.added] == ["new"]


@pytest.mark.parametrize(
    ("choice", "added"),
    [("rename", ["docs-cursor"]), ("skip", []), ("replace", ["docs"])],
)
def test_a_clash_is_resolved_as_chosen(choice: Any, added: list[str], tmp_path: Path) -> None:
    existing = {"docs": {"url": "https://a.example/mcp"}}
    plan = plan_import([_source("cursor", {"docs": {"url": "https://b.example/mcp"}})], existing, choice)
    assert not plan.clashes
    assert [item.name for item in plan.added] == added
    target = tmp_path / "switchyard.yaml"
    target.write_text("servers:\n  docs:\n    url: https://a.example/mcp\n")
    file = SwitchyardFile(target)
    apply_plan(plan, file)
    expected = {
        "rename": {"docs": {"url": "https://a.example/mcp"}, "docs-cursor": {"url": "https://b.example/mcp"}},
        "skip": {"docs": {"url": "https://a.example/mcp"}},
        "replace": {"docs": {"url": "https://b.example/mcp"}},
    }[choice]
    assert file.servers() == expected


def test_literal_secrets_are_reported_and_references_are_not() -> None:
    servers = {
        "gh": {"command": "x", "env": {"GITHUB_TOKEN": "ghp_123", "LOG_LEVEL": "debug", "API_KEY": "${API_KEY}"}}
    }
    plan = plan_import([_source("cursor", servers)], {}, None)
    assert len(plan.secrets) == 1 and "GITHUB_TOKEN" in plan.secrets[0]


# -- round trips of generated servers

_NAME = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True).filter(lambda n: n != "switchyard")
_VARIABLE = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True)
_TEXT = st.text(string.ascii_letters + string.digits + "-_./:@ ", min_size=1, max_size=16)
_REFERENCE = _VARIABLE.map(lambda name: "${" + name + "}")
_VALUE = st.one_of(_TEXT, _REFERENCE, st.sampled_from(["yes", "no", "null", "true", "007", "1.5", "~"]))
_URL = st.builds("https://{}.example/{}".format, st.from_regex(r"[a-z]{1,8}", fullmatch=True), _NAME)

# What each format can say: extra stdio keys, remote transports, and whether env refers only to itself (Codex).
CAPABILITIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "claude-desktop": ((), ()),
    "claude-code": ((), ("http", "sse")),
    "cursor": (("envFile",), ("http",)),
    "vscode": (("envFile", "cwd"), ("http", "sse")),
    "windsurf": ((), ("http",)),
    "gemini": (("cwd",), ("http", "sse")),
    "codex": (("cwd",), ("http",)),
}


@st.composite
def _entries(draw: st.DrawFn, client: str) -> Entry:
    extra, transports = CAPABILITIES[client]
    if transports and draw(st.booleans()):
        entry: Entry = {"url": draw(_URL)}
        transport = draw(st.sampled_from(transports))
        if transport == "sse":
            entry["type"] = "sse"
        headers = draw(st.dictionaries(st.from_regex(r"X-[A-Za-z]{1,8}", fullmatch=True), _VALUE, max_size=2))
        if draw(st.booleans()):
            headers["Authorization"] = "Bearer " + draw(_REFERENCE)
        if headers:
            entry["headers"] = headers
        return entry
    entry = {"command": draw(_TEXT), "args": draw(st.lists(_VALUE, max_size=4))}
    if client == "codex":  # Codex passes env values as written, or a variable through under its own name
        keys = draw(st.lists(_VARIABLE, max_size=3, unique=True))
        env = {key: draw(st.one_of(_TEXT, st.just("${" + key + "}"))) for key in keys}
    else:
        env = draw(st.dictionaries(_VARIABLE, _VALUE, max_size=3))
    entry["env"] = env
    for key in extra:
        if draw(st.booleans()):
            entry[key] = draw(_TEXT)
    return {k: v for k, v in entry.items() if v not in ([], {})}


def _servers(client: str) -> st.SearchStrategy[dict[str, Entry]]:
    return st.dictionaries(_NAME, _entries(client), min_size=1, max_size=4)


def _read_back(client: ClientFormat, data: bytes) -> dict[str, Entry]:
    loc = next(loc for loc in client.locations(PLACE) if loc.scope == client.export_scope)
    return client.read(data, loc, PLACE, Notes())


@pytest.mark.parametrize("name", list(FORMATS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_export_then_import_gives_the_same_servers(name: str, data: st.DataObject) -> None:
    client = FORMATS[name]
    servers = data.draw(_servers(name))
    exported = export(client, servers, PLACE)
    assert exported.left_out == []
    assert _read_back(client, exported.data) == servers


@pytest.mark.parametrize("name", list(FORMATS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_import_into_switchyard_then_export_gives_an_equivalent_config(
    name: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Client file -> `import` into a Switchyard YAML config -> `export` -> the same servers as the client file."""
    client = FORMATS[name]
    servers = data.draw(_servers(name))
    original = export(client, servers, PLACE).data
    target_path = tmp_path_factory.mktemp("config") / "switchyard.yaml"
    target = SwitchyardFile(target_path)
    apply_plan(
        plan_import([Source(client, Location(Path("x"), USER), _read_back(client, original), Notes())], {}, None),
        target,
    )
    target.write()
    in_switchyard = servers_in(target_path)
    assert _plain_yaml(target_path) == in_switchyard  # what the gateway's own YAML loader reads
    assert _read_back(client, export(client, in_switchyard, PLACE).data) == servers


def _plain_yaml(path: Path) -> Mapping[str, Any]:
    return yaml.safe_load(path.read_text())["servers"]
