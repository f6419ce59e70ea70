"""Durable state: servers, discovered definitions, name mappings and the audit log."""

from switchyard.registry.audit_writer import AuditWriter
from switchyard.registry.records import AuditRecord, StoredDefinition, StoredServer
from switchyard.registry.store import Store
from switchyard.registry.urls import default_registry_url, normalize_registry_url

__all__ = [
    "AuditRecord",
    "AuditWriter",
    "Store",
    "StoredDefinition",
    "StoredServer",
    "default_registry_url",
    "normalize_registry_url",
]
