"""`switchyard keys`: the API keys clients present to the HTTP front (with `auth.api_keys: true`).

A key's secret is printed once, when it is created; the registry keeps only its SHA-256. Revoking a key
takes effect in a running gateway within about a second, and ends the sessions opened with it.
"""

from __future__ import annotations

import getpass
from dataclasses import asdict
from pathlib import Path

import typer
from pydantic import ValidationError

from switchyard.admin.models import KeyCreate, KeyOut
from switchyard.admin.service import Actor, AdminError, AdminService, store_sink
from switchyard.cli.loading import (
    CONFIG_OPTION,
    JSON_OPTION,
    REGISTRY_OPTION,
    fail,
    local_time,
    opened_store,
    print_json,
    print_table,
    read_config,
    run,
    say,
    warn,
)
from switchyard.config import Config
from switchyard.registry.records import ApiKey

app = typer.Typer(help="Create, list and revoke API keys for the HTTP front.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Who the key is for: the principal its calls are audited as."),
    profile: str | None = typer.Option(None, "--profile", help="Bind the key to this profile (see `profiles:`)."),
    admin: bool = typer.Option(False, "--admin", help="An admin key (the admin API), not a client key."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a key and print its secret (shown this once only)."""
    settings = read_config(config)
    key, secret = run(_create, settings, registry, name, profile, admin)
    if as_json:
        print_json({**key.model_dump(mode="json"), "secret": secret})
        return
    say(f"created key {key.key_id} for {key.name!r} ({key.role}{f', profile {profile}' if profile else ''})")
    say(f"secret (shown once, store it now): {secret}")
    say(f"clients send it as: Authorization: Bearer {secret[:12]}...")
    if not settings.auth.api_keys:
        warn("auth.api_keys is not true in the config: the gateway does not ask for keys yet")


@app.command("list")
def list_(
    revoked: bool = typer.Option(False, "--revoked", help="Include revoked keys."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List keys (never their secrets)."""
    keys = run(_list, read_config(config), registry, revoked)
    if as_json:
        print_json([asdict(key) for key in keys])
    elif not keys:
        say("no API keys" if revoked else "no active API keys")
    else:
        print_table(
            ("id", "name", "role", "profile", "created", "last used", "revoked"),
            (
                (
                    k.key_id,
                    k.name,
                    k.role,
                    k.profile or "",
                    local_time(k.created_at),
                    local_time(k.last_used_at) if k.last_used_at else "",
                    local_time(k.revoked_at) if k.revoked_at else "",
                )
                for k in keys
            ),
        )


@app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="The key's id (see `switchyard keys list`)."),
    config: Path | None = CONFIG_OPTION,
    registry: str | None = REGISTRY_OPTION,
) -> None:
    """Revoke a key: it stops working within a second, and its sessions end."""
    key = run(_revoke, read_config(config), registry, key_id)
    if key is None:
        fail(f"no API key with id {key_id!r} (see `switchyard keys list --revoked`)")
    say(f"revoked key {key.key_id} ({key.name!r})")


async def _create(
    config: Config, registry: str | None, name: str, profile: str | None, admin: bool
) -> tuple[KeyOut, str]:
    async with opened_store(config, registry) as store:
        try:
            created = await AdminService(config, store, store_sink(store)).create_key(
                _actor(), KeyCreate(name=name, profile=profile, role="admin" if admin else "client")
            )
        except (AdminError, ValidationError) as exc:
            fail(_problem(exc))
    return KeyOut(**created.model_dump(exclude={"secret"})), created.secret


async def _list(config: Config, registry: str | None, revoked: bool) -> list[ApiKey]:
    async with opened_store(config, registry) as store:
        return await store.list_api_keys(include_revoked=revoked)


async def _revoke(config: Config, registry: str | None, key_id: str) -> KeyOut | None:
    async with opened_store(config, registry) as store:
        try:
            return await AdminService(config, store, store_sink(store)).revoke_key(_actor(), key_id)
        except AdminError as exc:
            if exc.status == 404:
                return None
            fail(exc.message)


def _actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "cli")


def _problem(exc: AdminError | ValidationError) -> str:
    if isinstance(exc, AdminError):
        return exc.message
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
