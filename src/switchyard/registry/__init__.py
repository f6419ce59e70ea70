"""Durable state: servers, discovered definitions, name mappings, API keys, tool pins and the audit log.

`Store` (SQLAlchemy) is loaded on first use: the records, the audit writer and the URL helpers are light, and
the gateway's start-up should not wait on the database layer before it has to.
"""

from typing import TYPE_CHECKING, Any

from switchyard.registry.audit_writer import AuditWriter
from switchyard.registry.records import (
    ApiKey,
    AuditRecord,
    ChainBreak,
    ChainReport,
    Pin,
    StoredAuditRecord,
    StoredDefinition,
    StoredServer,
)
from switchyard.registry.urls import default_registry_url, normalize_registry_url

if TYPE_CHECKING:
    from switchyard.registry.store import Store

__all__ = [
    "ApiKey",
    "AuditRecord",
    "AuditWriter",
    "ChainBreak",
    "ChainReport",
    "Pin",
    "Store",
    "StoredAuditRecord",
    "StoredDefinition",
    "StoredServer",
    "default_registry_url",
    "normalize_registry_url",
]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from switchyard.registry.store import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
