"""How `auto` mode decides: the full tools/list is listed while its estimated token cost fits the budget.

The estimate is the compact JSON's length in bytes divided by 4, with no tokenizer on the gateway's path (loading
one costs about a second). On real tool lists cl100k_base measures 4.3 to 5.0 bytes per token, so the estimate runs
high by 8-25% and errs towards search; `switchyard context` prints the exact count beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

BYTES_PER_TOKEN = 4


def estimated_tokens(tools: Sequence[Mapping[str, Any]]) -> int:
    return math.ceil(len(orjson.dumps({"tools": list(tools)})) / BYTES_PER_TOKEN)


def lists_everything(tools: Sequence[Mapping[str, Any]], budget_tokens: int) -> bool:
    """What `auto` does with this tool list: True = list every tool, False = the meta-tools."""
    return estimated_tokens(tools) < budget_tokens
