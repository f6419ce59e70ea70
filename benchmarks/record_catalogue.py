"""Record the real `tools/list` of twelve popular MCP servers as a catalogue fixture.

Writes benchmarks/data/catalogues/popular-12.json: {"servers": {name: {"package", "registry", "version", "tools"}}},
the tools exactly as each server sent them. The servers start through Switchyard's own upstream (a one-shot
gateway), with dummy API tokens: listing tools needs no account and no network.

It installs nothing. Install the pinned servers once (npm into a project-local folder, PyPI into a venv of their own);
the redis server needs a Redis to connect to (--redis, default the local one):

    npm ci --prefix benchmarks/catalogue-servers --ignore-scripts
    python3 -m venv /tmp/catalogue-venv
    /tmp/catalogue-venv/bin/pip install -r benchmarks/catalogue-servers/requirements.txt
    .venv/bin/python benchmarks/record_catalogue.py --python /tmp/catalogue-venv/bin/python
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
OUTPUT = BENCHMARKS / "data" / "catalogues" / "popular-12.json"


@dataclass(frozen=True)
class Server:
    name: str
    registry: str  # "pypi" or "npm"
    package: str
    entry: str  # the console script beside the venv's python, or the npm package's bin name
    args: tuple[str, ...] = ()  # "{tmp}": a scratch folder; "{redis}": the Redis URL
    env: dict[str, str] = field(default_factory=dict)


SERVERS = (
    Server("time", "pypi", "mcp-server-time", "mcp-server-time", ("--local-timezone", "UTC")),
    Server("git", "pypi", "mcp-server-git", "mcp-server-git"),
    Server("fetch", "pypi", "mcp-server-fetch", "mcp-server-fetch"),
    Server("filesystem", "npm", "@modelcontextprotocol/server-filesystem", "mcp-server-filesystem", ("{tmp}",)),
    Server(
        "memory",
        "npm",
        "@modelcontextprotocol/server-memory",
        "mcp-server-memory",
        env={"MEMORY_FILE_PATH": "{tmp}/memory.jsonl"},
    ),
    Server(
        "sequential-thinking",
        "npm",
        "@modelcontextprotocol/server-sequential-thinking",
        "mcp-server-sequential-thinking",
    ),
    Server(
        "slack",
        "npm",
        "@modelcontextprotocol/server-slack",
        "mcp-server-slack",
        env={"SLACK_BOT_TOKEN": "xoxb-dummy", "SLACK_TEAM_ID": "T0000"},
    ),
    Server(
        "brave-search",
        "npm",
        "@modelcontextprotocol/server-brave-search",
        "mcp-server-brave-search",
        env={"BRAVE_API_KEY": "dummy"},
    ),
    Server(
        "google-maps",
        "npm",
        "@modelcontextprotocol/server-google-maps",
        "mcp-server-google-maps",
        env={"GOOGLE_MAPS_API_KEY": "dummy"},
    ),
    Server(
        "postgres",
        "npm",
        "@modelcontextprotocol/server-postgres",
        "mcp-server-postgres",
        ("postgresql://127.0.0.1:9/none",),
    ),
    Server("puppeteer", "npm", "@modelcontextprotocol/server-puppeteer", "mcp-server-puppeteer"),
    Server("redis", "npm", "@modelcontextprotocol/server-redis", "mcp-server-redis", ("{redis}",)),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="The interpreter whose venv has the PyPI servers.")
    parser.add_argument("--node", default=shutil.which("node") or "node", help="Node.js for the npm servers.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="A Redis the redis server connects to.")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="switchyard-catalogue-") as scratch:
        placeholders = {"{tmp}": scratch, "{redis}": options.redis}
        launches = {server.name: launch(server, options.python, options.node, placeholders) for server in SERVERS}
        listings, problems = anyio.run(record, launches)
    if problems:
        sys.exit("\n".join(f"server '{name}' did not start: {why}" for name, why in problems.items()))
    catalogue = {
        "servers": {
            server.name: {
                "package": server.package,
                "registry": server.registry,
                "version": version(server, options.python),
                "tools": listings[server.name],
            }
            for server in SERVERS
        }
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(catalogue, indent=1, ensure_ascii=False) + "\n")
    total = sum(len(tools) for tools in listings.values())
    print(f"{options.output}: {total} tools over {len(listings)} servers")


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
