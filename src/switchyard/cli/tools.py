"""`switchyard tools`: list the tools clients see, and call one through the gateway's real pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from switchyard.cli.loading import (
    CONFIG_OPTION,
    JSON_OPTION,
    REGISTRY_OPTION,
    TIMEOUT_OPTION,
    fail,
    merged_config,
    one_shot_gateway,
    opened_store,
    parse_json_object,
    parse_pairs,
    print_json,
    print_table,
    read_config,
    run,
    say,
    startup_problems,
    unknown_server,
    warn,
)
from switchyard.config import Config

app = typer.Typer(help="List and call the tools the gateway offers.", no_args_is_help=True)

ARG_OPTION = typer.Option([], "--arg", help="KEY=VALUE; VALUE is read as JSON when it parses (repeatable).")


@app.command("list")
def list_tools(
    server: str | None = typer.Option(None, "--server", "-s", help="Only this server's tools."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
    timeout: float = TIMEOUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Start the backends and list the tools clients see: public name, server, description."""
    tools = run(_list, read_config(config), registry, server, timeout)
    if as_json:
        print_json(tools)
    elif tools:
        print_table(("name", "server", "description"), ((t["name"], t["server"], _first_line(t)) for t in tools))
    else:
        say("no tools")


async def _list(
    settings: Config, registry: str | None, only: str | None, startup_timeout: float
) -> list[dict[str, Any]]:
    async with opened_store(settings, registry) as store:
        config = await merged_config(settings, store)
    if only is not None:
        if only not in config.servers:
            unknown_server(only, config.servers)
        if config.servers[only].disabled:
            fail(f"server '{only}' is disabled (`switchyard servers enable {only}` enables it)")
    async with one_shot_gateway(config, startup_timeout=startup_timeout) as gateway:
        for name, why in startup_problems(gateway).items():
            if only == name:
                fail(f"server '{name}' did not start: {why}")
            if only is None:
                warn(f"server '{name}' did not start: {why}")
        return [
            {
                "name": entry.public_name,
                "server": entry.server,
                "tool": entry.original_name,
                "description": entry.definition.get("description"),
                "inputSchema": entry.definition.get("inputSchema"),
            }
            for entry in gateway.catalogue.tools
            if (only is None or entry.server == only) and gateway.visible(entry)
        ]


def _first_line(tool: dict[str, Any]) -> str:
    description = tool.get("description")
    lines = description.strip().splitlines() if isinstance(description, str) else []
    return lines[0] if lines else ""


@app.command("call")
def call(
    name: str = typer.Argument(..., help="The tool's public name (as `switchyard tools list` shows it)."),
    arg: list[str] = ARG_OPTION,
    args: str | None = typer.Option(None, "--args", help="All arguments as one JSON object (--arg adds to it)."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
    timeout: float = TIMEOUT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the raw result as JSON."),
) -> None:
    """Call a tool through the gateway's pipeline (allowlist, audit) and print its result."""
    arguments = parse_json_object(args, "--args") if args is not None else {}
    arguments.update({key: _value(value) for key, value in parse_pairs(arg, "--arg").items()})
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    response = run(_call, read_config(config), registry, request, timeout)
    if response is None or "error" in response:
        error = (response or {}).get("error") or {}
        data = error.get("data")
        reason = data.get("reason") if isinstance(data, dict) else None
        fail(f"{error.get('message', 'no answer')} ({reason or 'code ' + str(error.get('code'))})")
    result = response.get("result") or {}
    if as_json:
        print_json(result)
    else:
        _print_result(result)
    if result.get("isError") is True:
        fail(f"tool '{name}' reported an error")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


async def _call(
    settings: Config, registry: str | None, request: dict[str, Any], startup_timeout: float
) -> dict[str, Any] | None:
    from switchyard.front.session import Session
    from switchyard.pipeline import Client

    async with opened_store(settings, registry) as store:
        config = await merged_config(settings, store)
        async with one_shot_gateway(config, store=store, startup_timeout=startup_timeout) as gateway:
            session = Session(gateway, Client(principal="cli", transport="cli"), outbound=lambda message: None)
            try:
                return await session.handle(request)
            finally:
                session.close()


def _print_result(result: dict[str, Any]) -> None:
    texts = []
    for block in result.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
            say(texts[-1])
        else:
            resource = block.get("resource") or {}
            what = block.get("uri") or resource.get("uri") or block.get("mimeType")
            say(f"[{kind}{f': {what}' if what else ''}]")
    structured = result.get("structuredContent")
    if structured is not None and structured not in map(_value, texts):
        print_json(structured)
