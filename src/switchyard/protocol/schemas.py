"""Validators for the JSON Schemas tools declare (inputSchema, outputSchema), compiled once per distinct schema."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import orjson


def schema_validator(schema: Mapping[str, Any]) -> Any:
    """A jsonschema validator for `schema` (its own `$schema` draft, else 2020-12), or None when the schema itself
    is invalid: a schema the backend got wrong is left for the backend to judge."""
    return _compiled(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))


@functools.lru_cache(maxsize=512)
def _compiled(schema_json: bytes) -> Any:
    import jsonschema  # imported on first use: start-up does not need it

    schema = orjson.loads(schema_json)
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
    except jsonschema.SchemaError:
        return None
    return cls(schema)
