"""`python -m switchyard ...` as a subprocess in a private home, with its config written from a dict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

RUN_TIMEOUT = 180.0  # verify starts every server twice (directly, then through the gateway)


def private_environment(home: Path, **extra: str) -> dict[str, str]:
    """This environment with HOME and the XDG directories under `home`, and no SWITCHYARD_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        COLUMNS="250",
        NO_COLOR="1",
        **extra,
    )
    return env


def stdio_entry(argv: list[str], **extra: Any) -> dict[str, Any]:
    return {"command": argv[0], "args": argv[1:], **extra}


def write_config(path: Path, servers: dict[str, Any], **sections: Any) -> Path:
    path.write_text(json.dumps({"mcpServers": servers, **sections}, indent=2), encoding="utf-8")
    return path


def switchyard(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "switchyard", *args],
        env=env or private_environment(home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
