"""Registry schema revisions, written by hand to stay portable between SQLite and PostgreSQL."""
