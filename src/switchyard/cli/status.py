"""`switchyard status`: ask a running gateway how it and its backends are doing (its /readyz)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from switchyard.cli.loading import CONFIG_OPTION, JSON_OPTION, fail, print_json, print_table, read_config, say

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def status(
    url: str | None = typer.Option(None, "--url", help="The gateway's base URL (default: the config's http address)."),
    config: Path | None = CONFIG_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a running gateway's status and its backends.

    Exits 0 when it is up or degraded (some backends up), 1 when it is down or not answering.
    """
    base = (url or _default_url(config)).rstrip("/").removesuffix("/mcp")
    readiness = _get_readiness(base)
    if as_json:
        print_json(readiness)
    else:
        say(f"{base}: {readiness.get('status')} ({readiness.get('sessions', 0)} client session(s))")
        backends = readiness.get("backends") or []
        print_table(
            ("backend", "state", "transport", "tools", "restarts", "last error"),
            (
                (
                    b.get("name"),
                    b.get("state"),
                    b.get("transport"),
                    b.get("tools"),
                    b.get("restarts"),
                    b.get("lastError"),
                )
                for b in backends
            ),
        )
    if readiness.get("status") == "down":
        fail(f"the gateway at {base} is down: none of its backends is up")


def _default_url(config: Path | None) -> str:
    http = read_config(config).gateway.http
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(http.host, http.host)
    return f"http://{f'[{host}]' if ':' in host else host}:{http.port}"


def _get_readiness(base: str) -> dict[str, Any]:
    import httpx2  # only this command needs an HTTP client

    try:
        address = httpx2.URL(base)
        # A proxy from the environment would not know a gateway on this machine.
        response = httpx2.get(f"{base}/readyz", timeout=5.0, trust_env=address.host not in _LOOPBACK)
    except (httpx2.ConnectError, httpx2.ConnectTimeout):
        fail(f"no gateway is answering at {base} (start one with `switchyard serve`)")
    except (httpx2.InvalidURL, httpx2.UnsupportedProtocol) as exc:
        fail(f"--url {base!r} is not an http:// URL: {exc}", 2)
    except httpx2.HTTPError as exc:
        fail(f"cannot read {base}/readyz: {exc or type(exc).__name__}")
    try:
        readiness = response.json()
    except ValueError:
        readiness = None
    if response.status_code not in (200, 503) or not isinstance(readiness, dict):
        fail(f"{base}/readyz answered HTTP {response.status_code}, not a gateway's status: is this Switchyard?")
    return readiness
