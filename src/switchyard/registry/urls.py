"""Where the registry lives: the default location and the URL forms accepted for it."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

ENV_VAR = "SWITCHYARD_REGISTRY"

# Drivers the registry runs on: the async ones for each database it supports.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def default_registry_url() -> str:
    """`$SWITCHYARD_REGISTRY` if set, else a SQLite file in the user data directory."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return normalize_registry_url(override)
    return normalize_registry_url(str(Path(user_data_dir("switchyard", appauthor=False)) / "registry.db"))


def redact_url(url: str) -> str:
    """`url` with its password, if any, replaced by ***."""
    from sqlalchemy.engine import make_url  # SQLAlchemy loads only once a database is really opened

    return make_url(url).render_as_string(hide_password=True)


def normalize_registry_url(value: str) -> str:
    """Turn a file path or a sync-driver URL into the async SQLAlchemy URL the store opens."""
    value = value.strip()
    if not value:
        raise ValueError("empty registry URL")
    if "://" not in value:
        if value == ":memory:":
            return "sqlite+aiosqlite:///:memory:"
        return f"sqlite+aiosqlite:///{Path(value).expanduser().absolute()}"
    from sqlalchemy.engine import make_url

    url = make_url(value)
    driver = _ASYNC_DRIVERS.get(url.drivername)
    if driver is not None:
        url = url.set(drivername=driver)
    return url.render_as_string(hide_password=False)
