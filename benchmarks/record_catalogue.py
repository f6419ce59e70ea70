"""Record the real `tools/list` of popular MCP servers as catalogue fixtures.

Two sets, each written to benchmarks/data/catalogues/<set>.json as {"servers": {name: {"package", "registry",
"version", "tools"}}}, the tools exactly as each server sent them:

- popular-12: twelve popular servers (68 tools), the realistic setup of `switchyard context`'s targets;
- more-16: sixteen more (264 tools), which benchmarks/large_catalogue.py adds to reach 500+ real tools.

The servers start through Switchyard's own upstream (a one-shot gateway) with dummy API tokens: listing tools needs
no account, and none of them needs the network to list (more-16 records under `unshare -n` too).

It installs nothing. Install the pinned servers once (npm into a project-local folder, PyPI into a venv of their own);
popular-12's redis server needs a Redis to connect to (--redis, default the local one):

    npm ci --prefix benchmarks/catalogue-servers --ignore-scripts
    python3 -m venv /tmp/catalogue-venv
    /tmp/catalogue-venv/bin/pip install -r benchmarks/catalogue-servers/requirements.txt
    .venv/bin/python benchmarks/record_catalogue.py popular-12 more-16 --python /tmp/catalogue-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from switchyard.cli.loading import one_shot_gateway, startup_problems
from switchyard.config import Config

BENCHMARKS = Path(__file__).resolve().parent
NODE_SERVERS = BENCHMARKS / "catalogue-servers"
CATALOGUES = BENCHMARKS / "data" / "catalogues"
TOKEN = "dummy-token-0000000000"


@dataclass(frozen=True)
class Server:
    name: str
    registry: str  # "pypi" or "npm"
    package: str
    entry: str  # the console script beside the venv's python, or the npm package's bin name
    args: tuple[str, ...] = ()  # "{tmp}": a scratch folder; "{redis}": the Redis URL
    env: dict[str, str] = field(default_factory=dict)


def pypi(name: str, package: str, *args: str) -> Server:
    return Server(name, "pypi", package, package, args)


def npm(name: str, package: str, entry: str, *args: str, **env: str) -> Server:
    return Server(name, "npm", package, entry, args, {"HOME": "{tmp}", **env})


MCP = "@modelcontextprotocol/"
SETS = {
    "popular-12": (
        pypi("time", "mcp-server-time", "--local-timezone", "UTC"),
        pypi("git", "mcp-server-git"),
        pypi("fetch", "mcp-server-fetch"),
        npm("filesystem", MCP + "server-filesystem", "mcp-server-filesystem", "{tmp}"),
        npm("memory", MCP + "server-memory", "mcp-server-memory", MEMORY_FILE_PATH="{tmp}/memory.jsonl"),
        npm("sequential-thinking", MCP + "server-sequential-thinking", "mcp-server-sequential-thinking"),
        npm("slack", MCP + "server-slack", "mcp-server-slack", SLACK_BOT_TOKEN=TOKEN, SLACK_TEAM_ID="T0000"),
        npm("brave-search", MCP + "server-brave-search", "mcp-server-brave-search", BRAVE_API_KEY=TOKEN),
        npm("google-maps", MCP + "server-google-maps", "mcp-server-google-maps", GOOGLE_MAPS_API_KEY=TOKEN),
        npm("postgres", MCP + "server-postgres", "mcp-server-postgres", "postgresql://127.0.0.1:9/none"),
        npm("puppeteer", MCP + "server-puppeteer", "mcp-server-puppeteer"),
        npm("redis", MCP + "server-redis", "mcp-server-redis", "{redis}"),
    ),
    "more-16": (
        npm("github", MCP + "server-github", "mcp-server-github", GITHUB_PERSONAL_ACCESS_TOKEN=TOKEN),
        npm("gitlab", MCP + "server-gitlab", "mcp-server-gitlab", GITLAB_PERSONAL_ACCESS_TOKEN=TOKEN),
        npm("everything", MCP + "server-everything", "mcp-server-everything"),
        npm("playwright", "@playwright/mcp", "playwright-mcp"),
        npm("notion", "@notionhq/notion-mcp-server", "notion-mcp-server", NOTION_TOKEN=TOKEN),
        npm("sentry", "@sentry/mcp-server", "sentry-mcp", f"--access-token={TOKEN}"),
        npm("context7", "@upstash/context7-mcp", "context7-mcp"),
        npm("desktop-commander", "@wonderwhy-er/desktop-commander", "desktop-commander"),
        npm("firecrawl", "firecrawl-mcp", "firecrawl-mcp", FIRECRAWL_API_KEY=f"fc-{TOKEN}"),
        npm("tavily", "tavily-mcp", "tavily-mcp", TAVILY_API_KEY=f"tvly-{TOKEN}"),
        npm("mongodb", "mongodb-mcp-server", "mongodb-mcp-server", MDB_MCP_TELEMETRY="disabled"),
        npm("kubernetes", "mcp-server-kubernetes", "mcp-server-kubernetes"),
        npm("hubspot", "@hubspot/mcp-server", "mcp-hubspot", PRIVATE_APP_ACCESS_TOKEN=TOKEN),
        npm("exa", "exa-mcp-server", "exa-mcp-server", EXA_API_KEY=TOKEN),
        npm("airtable", "airtable-mcp-server", "airtable-mcp-server", AIRTABLE_API_KEY=f"pat{TOKEN}"),
        npm(
            "elasticsearch",
            "@elastic/mcp-server-elasticsearch",
            "mcp-server-elasticsearch",
            ES_URL="http://127.0.0.1:9",
            ES_API_KEY=TOKEN,
        ),
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="+", choices=sorted(SETS), help="Which sets to record.")
    parser.add_argument("--python", default=sys.executable, help="The interpreter whose venv has the PyPI servers.")
    parser.add_argument("--node", default=shutil.which("node") or "node", help="Node.js for the npm servers.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="A Redis the redis server connects to.")
    options = parser.parse_args()
    for name in options.sets:
        record_set(name, SETS[name], options)


def record_set(name: str, servers: tuple[Server, ...], options: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="switchyard-catalogue-") as scratch:
        placeholders = {"{tmp}": scratch, "{redis}": options.redis}
        launches = {server.name: launch(server, options.python, options.node, placeholders) for server in servers}
        listings, problems = anyio.run(record, launches)
    if problems:
        sys.exit("\n".join(f"server '{server}' did not start: {why}" for server, why in problems.items()))
    catalogue = {
        "servers": {
            server.name: {
                "package": server.package,
                "registry": server.registry,
                "version": version(server, options.python),
                "tools": listings[server.name],
            }
            for server in servers
        }
    }
    output = CATALOGUES / f"{name}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(catalogue, indent=1, ensure_ascii=False) + "\n")
    total = sum(len(tools) for tools in listings.values())
    print(f"{output}: {total} tools over {len(listings)} servers")


async def record(launches: dict[str, dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Each server's tools as it sent them, and why any server did not start."""
    config = Config.model_validate({"gateway": {"naming": "prefix"}, "servers": launches})
    async with one_shot_gateway(config, startup_timeout=60) as gateway:
        listings = {}
        for name in launches:
            listing = gateway.catalogue.listing(name)
            if listing is not None:
                listings[name] = listing.tools
        return listings, startup_problems(gateway)


def launch(server: Server, python: str, node: str, placeholders: dict[str, str]) -> dict[str, Any]:
    """The server's config entry."""

    def filled(text: str) -> str:
        for placeholder, value in placeholders.items():
            text = text.replace(placeholder, value)
        return text

    args = [filled(arg) for arg in server.args]
    env = {key: filled(value) for key, value in server.env.items()}
    if server.registry == "pypi":
        return {"command": str(Path(python).parent / server.entry), "args": args, "env": env}
    package = npm_package(server)
    script = package["bin"][server.entry] if isinstance(package["bin"], dict) else package["bin"]
    return {"command": node, "args": [str(NODE_SERVERS / "node_modules" / server.package / script), *args], "env": env}


def npm_package(server: Server) -> dict[str, Any]:
    manifest = NODE_SERVERS / "node_modules" / server.package / "package.json"
    if not manifest.exists():
        sys.exit(f"{server.package} is not installed: npm ci --prefix {NODE_SERVERS} --ignore-scripts")
    package: dict[str, Any] = json.loads(manifest.read_text())
    return package


def version(server: Server, python: str) -> str:
    if server.registry == "npm":
        return str(npm_package(server)["version"])
    code = f"import importlib.metadata as m; print(m.version({server.package!r}))"
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
