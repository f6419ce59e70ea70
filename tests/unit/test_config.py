"""switchyard.config: real client configs, precise errors, ${VAR} expansion, the bundled sample."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from switchyard import config as config_module
from switchyard.config import (
    Config,
    ConfigError,
    ServerConfig,
    default_config_path,
    load_config,
    parse_config,
    sample_config_path,
    server_config_from_dict,
)


def text(s: str) -> str:
    """Dedent, and drop the first newline so that line 1 is the first line written."""
    return dedent(s).removeprefix("\n")


def problems(source: str, body: str, environ: dict[str, str] | None = None) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text(body), source=source, environ=environ or {})
    assert str(caught.value) == "\n".join(map(str, caught.value.problems))
    return [(p.line, p.key, p.message) for p in caught.value.problems]


# -- configs as clients write them


def test_claude_desktop_json() -> None:
    body = """
    {
      "mcpServers": {
        "filesystem": {
          "command": "npx",
          "args": ["-y", "@modelcontextprotocol/server-filesystem",
                   "/Users/me/Desktop", "/Users/me/Downloads"]
        },
        "github": {
          "command": "docker",
          "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN",
                   "ghcr.io/github/github-mcp-server"],
          "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GH_TOKEN}"}
        }
      }
    }
    """
    config = parse_config(text(body), source="claude_desktop_config.json", environ={"GH_TOKEN": "ghp_secret"})
    assert list(config.servers) == ["filesystem", "github"]
    fs, gh = config.servers.values()
    assert (fs.type, fs.command, fs.args[-1]) == ("stdio", "npx", "/Users/me/Downloads")
    assert gh.env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_secret"}
    assert gh.redacted()["env"] == {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GH_TOKEN}"}
    assert "ghp_secret" not in repr(gh) + str(config)
    assert config.source == "claude_desktop_config.json"
    assert [s.name for s in config.enabled_servers()] == ["filesystem", "github"]


def test_claude_code_mcp_json() -> None:
    body = """
    {
      "mcpServers": {
        "sentry": {"type": "http", "url": "https://mcp.sentry.dev/mcp"},
        "linear": {"type": "sse", "url": "https://mcp.linear.app/sse",
                   "headers": {"Authorization": "Bearer ${LINEAR_TOKEN}", "X-Team": "core"}},
        "stream": {"type": "streamable-http", "url": "http://127.0.0.1:9000/mcp"},
        "camel": {"type": "streamableHttp", "url": "http://127.0.0.1:9001/mcp"},
        "inferred": {"url": "https://example.com/mcp"},
        "local": {"type": "stdio", "command": "uvx", "args": ["mcp-server-fetch"], "env": {}}
      }
    }
    """
    config = parse_config(text(body), source=".mcp.json", environ={"LINEAR_TOKEN": "lin_123"})
    assert {name: s.type for name, s in config.servers.items()} == {
        "sentry": "http",
        "linear": "sse",
        "stream": "http",
        "camel": "http",
        "inferred": "http",
        "local": "stdio",
    }
    linear = config.servers["linear"]
    assert linear.headers["Authorization"] == "Bearer lin_123"
    assert linear.redacted()["headers"] == {"Authorization": "Bearer ${LINEAR_TOKEN}", "X-Team": "***"}


def test_vscode_servers_with_inputs_env_file_and_comments(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# local secrets\nPERPLEXITY_MODEL=sonar\nexport LOG_LEVEL='debug'\n")
    file = tmp_path / "mcp.json"
    file.write_text(
        text("""
        {
          // VS Code writes JSON with comments
          "inputs": [
            {"type": "promptString", "id": "perplexity-key", "description": "API Key", "password": true}
          ],
          "servers": {
            "perplexity": {
              "type": "stdio",
              "command": "npx",
              "args": ["-y", "server-perplexity-ask"],
              "env": {"PERPLEXITY_API_KEY": "${input:perplexity-key}", "LOG_LEVEL": "info"},
              "envFile": ".env",  /* relative to the config file */
            },
          },
        }
        """)
    )
    config = load_config(file, environ={"PERPLEXITY_KEY": "pplx-secret"})
    server = config.servers["perplexity"]
    # the env file comes first and explicit env wins; ${input:perplexity-key} is read as $PERPLEXITY_KEY
    assert server.env == {
        "PERPLEXITY_MODEL": "sonar",
        "LOG_LEVEL": "info",
        "PERPLEXITY_API_KEY": "pplx-secret",
    }
    assert server.env_file == str(tmp_path / ".env")
    assert server.redacted()["env"]["PERPLEXITY_API_KEY"] == "${input:perplexity-key}"
    assert server.redacted()["env"]["PERPLEXITY_MODEL"] == "***"
    # the input id itself is looked up first
    config = load_config(file, environ={"perplexity-key": "a", "PERPLEXITY_KEY": "b"})
    assert config.servers["perplexity"].env["PERPLEXITY_API_KEY"] == "a"


def test_yaml_with_gateway_and_policies() -> None:
    body = """
    gateway:
      naming: auto
      separator: "-"
      max_name_length: 128
      request_timeout: 15.5
      registry: postgresql+asyncpg://switchyard:${PGPASSWORD}@db/switchyard
      http: {host: 0.0.0.0, port: 9000, allowed_hosts: [gw.internal], allowed_origins: ["https://app.example"]}
      restart: {initial_delay: 1, max_delay: 60, multiplier: 1.5}
    policies:
      servers: {allow: ["git*", time], deny: [gitlab]}
      tools:
        deny: ["git:git_commit", "*:delete_*"]
    mcpServers:
      time:
        command: python
        args: [-m, mcp_server_time, --local-timezone, UTC]
        env: {TZ: UTC, PORT: 8080}
        cwd: /tmp
        prefix: clock
        timeout: 30
      git:
        command: mcp-server-git
        disabled: true
    """
    config = parse_config(text(body), source="switchyard.yaml", environ={"PGPASSWORD": "pw"})
    gw = config.gateway
    assert (gw.naming, gw.separator, gw.max_name_length, gw.request_timeout) == ("auto", "-", 128, 15.5)
    assert gw.registry == "postgresql+asyncpg://switchyard:pw@db/switchyard"
    assert "pw@" not in repr(config)
    assert (gw.http.host, gw.http.port, gw.http.allowed_hosts) == ("0.0.0.0", 9000, ["gw.internal"])
    assert (gw.restart.initial_delay, gw.restart.max_delay, gw.restart.multiplier) == (1, 60, 1.5)
    assert config.policies.servers.model_dump() == {"allow": ["git*", "time"], "deny": ["gitlab"]}
    assert config.policies.tools.model_dump() == {"allow": [], "deny": ["git:git_commit", "*:delete_*"]}
    time = config.servers["time"]
    assert (time.namespace, time.timeout, time.env["PORT"]) == ("clock", 30, "8080")
    assert [s.name for s in config.enabled_servers()] == ["time"]


def test_empty_and_defaults() -> None:
    for body in ("", "# nothing yet\n", "gateway:\npolicies:\nmcpServers:\n"):
        config = parse_config(body)
        assert config.gateway.naming == "prefix" and config.servers == {}
        assert config.gateway.http.port == 8765 and config.policies.tools.deny == []


def test_anchors_under_x_keys() -> None:
    body = """
    x-python: &python {command: python, env: {PYTHONUNBUFFERED: "1"}}
    mcpServers:
      a: {<<: *python, args: [-m, a]}
      b: *python
    """
    config = parse_config(text(body), environ={})
    assert [(s.command, s.args, s.env) for s in config.servers.values()] == [
        ("python", ["-m", "a"], {"PYTHONUNBUFFERED": "1"}),
        ("python", [], {"PYTHONUNBUFFERED": "1"}),
    ]


def test_namespace_and_programmatic_models() -> None:
    server = ServerConfig(name="my.server v2", command="x")
    assert server.namespace == "my_server_v2"
    assert ServerConfig(name="a", command="x", prefix="b").namespace == "b"
    config = Config.model_validate({"mcpServers": {"a": {"command": "x"}}})
    assert config.servers["a"].name == "a"
    assert Config(servers={"a": server.model_copy(update={"name": "a"})}).servers["a"].command == "x"


# -- errors


def test_the_brief_example() -> None:
    body = """
    mcpServers:
      time:
        command: python
        args: -m mcp_server_time
    """
    with pytest.raises(ConfigError) as caught:
        parse_config(text(body), source="switchyard.yaml")
    error = caught.value
    assert str(error) == "switchyard.yaml:4: mcpServers.time.args: expected a list of strings, got a string"
    assert (error.file, error.line, error.key) == ("switchyard.yaml", 4, "mcpServers.time.args")
    assert error.message == "expected a list of strings, got a string"


def test_typos_suggest_the_key() -> None:
    body = """
    gatway:
      naming: prefix
    mcpServers:
      time:
        comand: python
        agrs: []
      remote:
        url: https://example.com/mcp
        header: {}
        whatever: 1
    """
    assert problems("switchyard.yaml", body) == [
        (1, "gatway", "unknown key 'gatway' (did you mean 'gateway'?)"),
        (5, "mcpServers.time.comand", "unknown key 'comand' (did you mean 'command'?)"),
        (6, "mcpServers.time.agrs", "unknown key 'agrs' (did you mean 'args'?)"),
        (9, "mcpServers.remote.header", "unknown key 'header' (did you mean 'headers'?)"),
        (10, "mcpServers.remote.whatever", "unknown key 'whatever'"),
    ]


def test_gateway_and_policy_values() -> None:
    body = """
    gateway:
      naming: prefixed
      separator: "."
      max_name_length: 300
      request_timeout: 0
      http: {port: http}
      restart: {initial_delay: 5, max_delay: 1}
    policies:
      servers: {allow: git}
      tools: {deny: [git_commit, 5, true]}
    """
    assert problems("switchyard.yaml", body) == [
        (2, "gateway.naming", "expected one of 'prefix', 'none', 'auto', got 'prefixed'"),
        (3, "gateway.separator", "expected only letters, digits, '_' and '-', got '.'"),
        (4, "gateway.max_name_length", "expected less than or equal to 128, got 300"),
        (5, "gateway.request_timeout", "expected greater than 0, got 0"),
        (6, "gateway.http.port", "expected an integer, got 'http'"),
        (7, "gateway.restart.max_delay", "expected at least initial_delay (5), got 1"),
        (9, "policies.servers.allow", "expected a list of strings, got a string"),
        (10, "policies.tools.deny[2]", "expected a string, got a boolean"),
    ]


def test_server_shapes() -> None:
    body = """
    mcpServers:
      nothing: {}
      empty_command: {command: ""}
      typed_stdio: {type: stdio, args: [x]}
      http_without_url: {type: http}
      both: {command: x, url: "http://h"}
      stdio_headers: {type: stdio, command: x, headers: {A: b}}
      http_command: {type: sse, url: "https://h/sse", command: x}
      ftp: {url: "ftp://h/x"}
      no_host: {url: "https:///mcp"}
      websocket: {type: websocket, url: "wss://h"}
      bad_types: {command: [x], args: [a, true], env: {A: [1]}, disabled: maybe, timeout: -1, prefix: "a b"}
      null_entry:
    """
    assert problems("switchyard.yaml", body) == [
        (2, "mcpServers.nothing", "needs 'command' (a stdio server) or 'url' (an http or sse server)"),
        (3, "mcpServers.empty_command.command", "expected a command, got ''"),
        (4, "mcpServers.typed_stdio", "a stdio server needs 'command'"),
        (5, "mcpServers.http_without_url", "an http server needs 'url'"),
        (6, "mcpServers.both.url", "a server has 'command' (stdio) or 'url' (http or sse), not both"),
        (7, "mcpServers.stdio_headers.headers", "'headers' does not apply to a stdio server"),
        (8, "mcpServers.http_command.command", "'command' does not apply to an sse server"),
        (9, "mcpServers.ftp.url", "expected an http:// or https:// URL, got 'ftp://h/x'"),
        (10, "mcpServers.no_host.url", "expected an http:// or https:// URL, got 'https:///mcp'"),
        (11, "mcpServers.websocket.type", "expected one of 'stdio', 'http', 'sse', got 'websocket'"),
        (11, "mcpServers.websocket.url", "expected an http:// or https:// URL, got 'wss://h'"),
        (12, "mcpServers.bad_types.command", "expected a string, got a list"),
        (12, "mcpServers.bad_types.args[1]", "expected a string, got a boolean"),
        (12, "mcpServers.bad_types.env.A", "expected a string, got a list"),
        (12, "mcpServers.bad_types.disabled", "expected true or false, got 'maybe'"),
        (12, "mcpServers.bad_types.prefix", "expected only letters, digits, '_' and '-', got 'a b'"),
        (12, "mcpServers.bad_types.timeout", "expected greater than 0, got -1"),
        (13, "mcpServers.null_entry", "expected a mapping, got null"),
    ]


def test_secret_values_never_appear_in_errors() -> None:
    body = """
    mcpServers:
      a:
        command: x
        env: {TOKEN: [sk-live-123]}
        headers: {Authorization: {bearer: sk-live-456}}
    """
    with pytest.raises(ConfigError) as caught:
        parse_config(text(body))
    assert "sk-live" not in str(caught.value)
    assert "<string>:4: mcpServers.a.env.TOKEN: expected a string, got a list" in str(caught.value)


def test_names_and_namespaces() -> None:
    body = """
    mcpServers:
      "": {command: x}
      a b: {command: x}
      a.b: {command: y}
    """
    assert problems("s.yaml", body) == [(2, 'mcpServers.""', "a server name must not be empty")]
    body = """
    mcpServers:
      a b: {command: x}
      a.b: {command: y}
      c: {command: y, prefix: a_b}
    """
    assert problems("s.yaml", body) == [
        (
            3,
            'mcpServers."a.b"',
            "namespace 'a_b' is already used by server 'a b'; give one of them a distinct 'prefix'",
        )
    ]
    body = "mcpServers:\n  a: {command: x}\n  c: {command: y, prefix: a}\n"
    assert problems("s.yaml", body) == [
        (
            3,
            "mcpServers.c.prefix",
            "namespace 'a' is already used by server 'a'; give one of them a distinct 'prefix'",
        )
    ]


def test_document_shape() -> None:
    assert problems("s.yaml", "- a\n- b\n") == [(1, "", "expected a mapping at the top level, got a list")]
    assert problems("s.yaml", "mcpServers: [a]\n") == [
        (1, "mcpServers", "expected a mapping of names to definitions, got a list")
    ]
    assert problems("s.yaml", "mcpServers: {}\nservers: {}\n") == [
        (2, "servers", "'mcpServers' and 'servers' (its VS Code alias) are both present; keep one")
    ]
    assert problems("s.yaml", "source: x\n") == [(1, "source", "unknown key 'source'")]
    body = """
    mcpServers:
      a: {command: x}
      b: {command: y}
      a: {command: z}
    """
    assert problems("s.yaml", body) == [(4, "mcpServers.a", "duplicate key 'a' (first on line 2)")]
    body = '{"servers": {"a": {"command": "x"},\n "a": {"command": "y"}}}'
    assert problems("mcp.json", body) == [(2, "servers.a", "duplicate key 'a' (first on line 1)")]


def test_vscode_alias_errors_name_servers() -> None:
    body = '{\n  "servers": {\n    "a": {\n\t"command": "x",\n\t"args": [1, false]\n    }\n  }\n}\n'
    assert problems("mcp.json", body) == [(5, "servers.a.args[1]", "expected a string, got a boolean")]


def test_syntax_errors_have_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("mcpServers:\n  a: {command: x\n", source="s.yaml")
    assert (caught.value.line, caught.value.problems[0].column) == (3, 1)
    assert str(caught.value) == (
        "s.yaml:3:1: invalid YAML: expected ',' or '}', but got '<stream end>' (while parsing a flow mapping on line 2)"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config("mcpServers:\n\ta: 1\n", source="s.yaml")
    assert str(caught.value).startswith("s.yaml:2:1: invalid YAML: found character '\\t'")
    assert "indent with spaces" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_config('{\n  "mcpServers": {\n    "a": {"command": "x"}\n    "b": {}\n  }\n}', source="c.json")
    assert str(caught.value) == "c.json:4:5: invalid JSON: Expecting ',' delimiter"


def test_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert str(caught.value) == f"{missing}: config file not found"
    assert (caught.value.file, caught.value.line) == (str(missing), None)
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    (tmp_path / "latin1.yaml").write_bytes(b"mcpServers: {caf\xe9: {command: x}}\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(tmp_path / "latin1.yaml")
    (tmp_path / "bom.json").write_bytes(b'\xef\xbb\xbf{"mcpServers": {"a": {"command": "x"}}}')
    assert list(load_config(tmp_path / "bom.json").servers) == ["a"]
    (tmp_path / "switchyard.yaml").write_text("mcpServers:\n  a:\n    command: x\n    envFile: missing.env\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "switchyard.yaml")
    assert caught.value.line == 4 and caught.value.key == "mcpServers.a.envFile"
    assert caught.value.message == f"cannot read env file {str(tmp_path / 'missing.env')!r}: No such file or directory"


def test_problems_are_reported_together_in_line_order() -> None:
    body = """
    mcpServers:
      b:
        url: ${URL}
        bogus: 1
      a:
        comand: x
    gateway: {naming: x}
    """
    with pytest.raises(ConfigError) as caught:
        parse_config(text(body), source="s.yaml", environ={})
    assert str(caught.value).splitlines() == [
        "s.yaml:3: mcpServers.b.url: environment variable 'URL' is not set (${URL:-default} gives a default)",
        "s.yaml:4: mcpServers.b.bogus: unknown key 'bogus'",
        "s.yaml:6: mcpServers.a.comand: unknown key 'comand' (did you mean 'command'?)",
        "s.yaml:7: gateway.naming: expected one of 'prefix', 'none', 'auto', got 'x'",
    ]


# -- ${VAR} expansion


def test_expansion() -> None:
    body = """
    mcpServers:
      svc:
        command: ${BIN_DIR}/server
        args: ["--port", "${PORT:-8080}", "--mode=${MODE:-dev}", "${EMPTY:-fallback}", "${EMPTY}", "$${KEEP}"]
        env: {TOKEN: "${TOKEN}", MIXED: "a-${TOKEN}-b"}
        cwd: "~/work"
        timeout: ${TIMEOUT:-12}
        disabled: ${DISABLED:-false}
      home: {command: "~", cwd: "~"}
    """
    environ = {"BIN_DIR": "/opt/bin", "MODE": "prod", "EMPTY": "", "TOKEN": "t0k", "HOME": "/home/me"}
    server = parse_config(text(body), environ=environ).servers["svc"]
    assert server.command == "/opt/bin/server"
    assert server.args == ["--port", "8080", "--mode=prod", "fallback", "", "${KEEP}"]
    assert server.env == {"TOKEN": "t0k", "MIXED": "a-t0k-b"}
    assert (server.cwd, server.timeout, server.disabled) == ("/home/me/work", 12, False)
    assert server.redacted() == {
        "name": "svc",
        "type": "stdio",
        "command": "${BIN_DIR}/server",
        "args": [
            "--port",
            "${PORT:-8080}",
            "--mode=${MODE:-dev}",
            "${EMPTY:-fallback}",
            "${EMPTY}",
            "$${KEEP}",
        ],
        "env": {"TOKEN": "${TOKEN}", "MIXED": "a-${TOKEN}-b"},
        "cwd": "/home/me/work",
        "timeout": 12.0,
    }
    home = parse_config(text(body), environ=environ).servers["home"]
    assert (home.command, home.cwd) == ("/home/me", "/home/me")


def test_expansion_errors() -> None:
    body = """
    servers:
      api:
        url: https://${HOST}/mcp
        headers:
          Authorization: Bearer ${input:api-key}
          X-Bad: ${not a name}
    """
    assert problems("mcp.yaml", body) == [
        (3, "servers.api.url", "environment variable 'HOST' is not set (${HOST:-default} gives a default)"),
        (
            5,
            "servers.api.headers.Authorization",
            "input 'api-key' is not set: set the environment variable 'api-key' or 'API_KEY'",
        ),
        (
            6,
            "servers.api.headers.X-Bad",
            "invalid variable reference '${not a name}': expected ${NAME} or ${NAME:-default}",
        ),
    ]


def test_redacted_url_and_literal_secrets() -> None:
    server = server_config_from_dict(
        "r", {"url": "https://user:pw@h.example/mcp?key=abc&v=1", "headers": {"X-Key": "literal"}}
    )
    assert server.redacted() == {
        "name": "r",
        "type": "http",
        "url": "https://user:***@h.example/mcp?key=***&v=***",
        "headers": {"X-Key": "***"},
    }
    assert "literal" not in repr(server) and "pw@" not in str(server)


def test_server_config_from_dict() -> None:
    server = server_config_from_dict("fetch", {"command": "uvx", "args": ["mcp-server-fetch", "${X:-1}"]}, environ={})
    assert (server.name, server.type, server.args) == ("fetch", "stdio", ["mcp-server-fetch", "1"])
    with pytest.raises(ConfigError) as caught:
        server_config_from_dict("fetch", {"comand": "uvx"}, environ={})
    assert (
        str(caught.value) == "<command line>: mcpServers.fetch.comand: unknown key 'comand' (did you mean 'command'?)"
    )


# -- the bundled sample and where configs are found


def test_sample_config_loads_and_its_commands_are_next_to_python() -> None:
    path = sample_config_path()
    assert path.is_file() and path.name == "sample_config.yaml"
    config = load_config(path, environ={})
    assert [(s.name, s.type, s.command) for s in config.enabled_servers()] == [
        ("time", "stdio", "mcp-server-time"),
        ("git", "stdio", "mcp-server-git"),
    ]
    assert config.servers["time"].args == ["--local-timezone", "UTC"]
    # the gateway puts the directory of sys.executable on PATH: the console scripts must be there
    for server in config.enabled_servers():
        assert server.command and (Path(sys.executable).parent / server.command).exists()
    # the sample's git server is unconfined, so it is kept read-only
    assert config.policies.tools.deny == [
        "git:git_add",
        "git:git_commit",
        "git:git_reset",
        "git:git_checkout",
        "git:git_create_branch",
    ]


def test_default_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SWITCHYARD_CONFIG", raising=False)
    user_dir = tmp_path / "user"
    monkeypatch.setattr(config_module, "user_config_path", lambda *a, **k: user_dir)
    assert default_config_path() == sample_config_path()
    user_dir.mkdir()
    (user_dir / "switchyard.yaml").write_text("{}")
    assert default_config_path() == user_dir / "switchyard.yaml"
    (tmp_path / "switchyard.yaml").write_text("{}")
    assert default_config_path() == Path("switchyard.yaml")
    monkeypatch.setenv("SWITCHYARD_CONFIG", "/etc/switchyard/gw.json")
    assert default_config_path() == Path("/etc/switchyard/gw.json")


# -- property: any valid mcpServers dict round-trips

_plain = st.text(st.characters(exclude_categories=["Cs"]), max_size=12).filter(lambda s: "${" not in s)
_path_text = _plain.filter(lambda s: not s.startswith("~"))
_ident = st.from_regex(r"[A-Za-z0-9_-]{1,10}", fullmatch=True)
_common = {
    "disabled": st.booleans(),
    "prefix": _ident,
    "timeout": st.floats(min_value=0.001, max_value=1e6) | st.integers(1, 3600),
}
_stdio = st.fixed_dictionaries(
    {"command": _path_text.filter(bool)},
    optional={
        "type": st.just("stdio"),
        "args": st.lists(_plain, max_size=4),
        "env": st.dictionaries(_plain.filter(bool), _plain, max_size=3),
        "cwd": _path_text,
        **_common,
    },
)
_url = st.builds(
    "{}://{}/{}".format,
    st.sampled_from(["http", "https", "HTTPS"]),
    st.from_regex(r"[a-z0-9]{1,8}(\.[a-z]{2,5})?(:[0-9]{2,5})?", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9/_.-]{0,12}", fullmatch=True),
)
_remote = st.fixed_dictionaries(
    {"url": _url},
    optional={
        "type": st.sampled_from(["http", "sse", "streamable-http", "streamableHttp"]),
        "headers": st.dictionaries(_plain.filter(bool), _plain, max_size=3),
        **_common,
    },
)


def _namespaces_distinct(servers: dict[str, dict[str, Any]]) -> bool:
    spaces = [ServerConfig(name=n, command="x", prefix=e.get("prefix")).namespace for n, e in servers.items()]
    return len(set(spaces)) == len(spaces)


_servers = st.dictionaries(_plain.filter(bool), _stdio | _remote, max_size=5).filter(_namespaces_distinct)


def _expected(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    kind = {"streamable-http": "http", "streamableHttp": "http"}.get(entry.get("type", ""), entry.get("type"))
    defaults = ServerConfig(name=name, command="x").model_dump(by_alias=True) | {"command": None}
    return defaults | entry | {"name": name, "type": kind or ("stdio" if "command" in entry else "http")}


@settings(max_examples=150, deadline=None)
@given(_servers)
def test_any_valid_mcp_servers_round_trip(servers: dict[str, dict[str, Any]]) -> None:
    config = parse_config(json.dumps({"mcpServers": servers}), source="claude_desktop_config.json", environ={})
    assert list(config.servers) == list(servers)
    for name, entry in servers.items():
        assert config.servers[name].model_dump(by_alias=True) == _expected(name, entry)
    # what the models hold, written out again, reads back the same, in JSON and YAML alike
    written = {
        n: s.model_dump(by_alias=True, exclude_defaults=True, exclude={"name"}) for n, s in config.servers.items()
    }
    again = parse_config(json.dumps({"servers": written}), source="mcp.json", environ={})
    assert again.servers == config.servers
    assert parse_config(yaml.safe_dump({"mcpServers": servers}), environ={}).servers == config.servers
