"""The `switchyard` command."""

from __future__ import annotations

import typer

from switchyard import __version__
from switchyard.cli import adopt, audit, config_cmd, keys, pins, serve, servers, status, tools
from switchyard.cli import doctor as doctor_cmd
from switchyard.cli import verify as verify_cmd
from switchyard.cli.context import context

app = typer.Typer(
    name="switchyard",
    help="One MCP endpoint in front of many MCP servers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(serve.serve)
app.add_typer(config_cmd.app, name="config")
app.add_typer(servers.app, name="servers")
app.add_typer(tools.app, name="tools")
app.add_typer(pins.app, name="pins")
app.add_typer(keys.app, name="keys")
app.command("status")(status.status)
app.command("audit")(audit.audit)
app.command("import")(adopt.import_)
app.command("connect")(adopt.connect)
app.command("restore")(adopt.restore_)
app.command("export")(adopt.export_)
app.command("verify")(verify_cmd.verify)
app.command("doctor")(doctor_cmd.doctor)
app.command("context")(context)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"switchyard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
    ),
) -> None:
    """One MCP endpoint in front of many MCP servers."""


def main() -> None:
    app()
