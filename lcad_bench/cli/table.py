"""Plain-text tables for terminal output (no dependency, wraps long cells)."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], max_width: int | None = None
) -> str:
    """A boxed table; columns wider than their share of the terminal are wrapped."""
    width = max_width or max(80, shutil.get_terminal_size((120, 20)).columns)
    cells = [[("" if c is None else str(c)) for c in r] for r in rows]
    n = len(headers)
    natural = [
        max([len(headers[i])] + [len(line) for r in cells for line in r[i].splitlines() or [""]])
        for i in range(n)
    ]
    budget = width - (3 * n + 1)
    widths = list(natural)
    while sum(widths) > budget and max(widths) > 8:
        k = widths.index(max(widths))
        widths[k] -= 1

    def fmt_row(values: Sequence[str]) -> list[str]:
        wrapped = [textwrap.wrap(v, widths[i]) or [""] for i, v in enumerate(values)]
        height = max(len(w) for w in wrapped)
        return [
            "| "
            + " | ".join(
                (wrapped[i][h] if h < len(wrapped[i]) else "").ljust(widths[i]) for i in range(n)
            )
            + " |"
            for h in range(height)
        ]

    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [sep, *fmt_row(list(headers)), sep.replace("-", "=")]
    for r in cells:
        out.extend(fmt_row(r))
        out.append(sep)
    return "\n".join(out)
