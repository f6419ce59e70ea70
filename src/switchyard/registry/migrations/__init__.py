"""Alembic migration environment and revisions of the registry schema."""
