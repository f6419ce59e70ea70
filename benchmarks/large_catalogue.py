"""Build benchmarks/data/catalogues/large-500.json: 512 real tool definitions over 72 servers.

The recorded tools/lists of popular-12 and more-16 (benchmarks/record_catalogue.py), plus the 180 Azure MCP Server
tools of the tool-search dev set (../shared/data/tool-search-dev/tools.jsonl, 44 servers). Same format as the
recorded catalogues: {"servers": {name: {"tools": [...], ...}}}.

    .venv/bin/python benchmarks/large_catalogue.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
CATALOGUES = BENCHMARKS / "data" / "catalogues"
RECORDED = (CATALOGUES / "popular-12.json", CATALOGUES / "more-16.json")
DEV_SET = BENCHMARKS.parent.parent / "shared" / "data" / "tool-search-dev" / "tools.jsonl"
OUTPUT = CATALOGUES / "large-500.json"


def main() -> None:
    servers: dict[str, dict[str, Any]] = {}
    for path in RECORDED:
        servers.update(json.loads(path.read_text())["servers"])
    with DEV_SET.open() as lines:
        for line in lines:
            tool = json.loads(line)
            server = servers.setdefault(tool["server"], {"source": "tool-search-dev (Azure MCP Server)", "tools": []})
            server["tools"].append({key: tool[key] for key in ("name", "description", "inputSchema")})
    OUTPUT.write_text(json.dumps({"servers": servers}, indent=1, ensure_ascii=False) + "\n")
    total = sum(len(server["tools"]) for server in servers.values())
    print(f"{OUTPUT}: {total} tools over {len(servers)} servers")


if __name__ == "__main__":
    main()
