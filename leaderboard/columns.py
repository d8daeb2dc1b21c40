"""Metric display facts -> table columns.

Display facts have one source: the :class:`~lcad_bench.metrics.base.ColumnInfo` each metric
declares (``lcad_bench.metrics.catalogue``). A column no registered metric writes (a plug-in
metric) takes its facts from the run's ``results.json`` metadata (validated: wrong types are
ignored) or gets a neutral entry (no direction arrow, 3 decimals). Streamlit is imported only
inside :func:`column_config`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from lcad_bench.metrics import catalogue
from lcad_bench.metrics.base import ColumnInfo
from lcad_bench.protocol import LEVELS

__all__ = ["AVG_RANK", "CI_SUFFIX", "LEVELS", "SEP", "ColumnInfo", "column_config", "column_direction", "column_label",
           "finite_or_none", "is_difference", "merge_metadata", "metric_info", "order_metrics", "parse_column", "ranks_column"]  # fmt: skip

SEP = " · "  # joins metric and level in a table column name: "psnr · complete", "psnr · sparse − complete"
CI_SUFFIX = "95% CI"
AVG_RANK = "avg rank"


def _as_range(v: Any) -> tuple[float | None, float | None] | None:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        out = [
            float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None for x in v
        ]
        return (out[0], out[1])
    return None


def _neutral(name: str) -> ColumnInfo:
    return ColumnInfo(name, name, "", None)


def metric_info(name: str, meta: Mapping[str, Any] | None = None) -> ColumnInfo:
    """Display facts of result column ``name``: the metric catalogue's entry, else the run's
    metadata keys over a neutral entry. Invalid values in ``meta`` are ignored, never trusted."""
    known = catalogue().get(name)
    if known is not None:
        return known
    base = _neutral(name)
    if not isinstance(meta, Mapping):
        return base
    kw: dict[str, Any] = {}
    hib = meta.get("higher_is_better", meta.get("lower_is_better"))
    if isinstance(hib, bool):
        kw["higher_is_better"] = hib if "higher_is_better" in meta else not hib
    if isinstance(meta.get("display_name"), str) and meta["display_name"].strip():
        kw["display_name"] = meta["display_name"].strip()[:60]
    dec = meta.get("decimals")
    if isinstance(dec, int) and not isinstance(dec, bool) and 0 <= dec <= 8:
        kw["decimals"] = dec
    if isinstance(meta.get("description"), str):
        kw["description"] = meta["description"][:500]
    rng = _as_range(meta.get("range"))
    if rng is not None:
        kw["range"] = rng
    if meta.get("info_only") is True:
        kw["higher_is_better"] = None
    return replace(base, **kw)


def _column_meta(name: str, run_meta: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A run's display keys for a column: from a metric's ``columns`` list, or the metric's own
    top-level keys when the metric and the column share a name."""
    for m in run_meta.values():
        if not isinstance(m, Mapping):
            continue
        for c in m.get("columns") or ():
            if isinstance(c, Mapping) and c.get("name") == name:
                return c
    cand = run_meta.get(name)
    if isinstance(cand, Mapping) and any(
        k in cand for k in ("higher_is_better", "lower_is_better", "display_name", "decimals")
    ):
        return cand
    return None


def merge_metadata(
    names: Iterable[str], metas: Iterable[Mapping[str, Any]]
) -> dict[str, ColumnInfo]:
    """One ColumnInfo per column name; for unknown columns the first run with display keys wins."""
    metas = [m for m in metas if isinstance(m, Mapping)]
    out: dict[str, ColumnInfo] = {}
    for n in names:
        chosen = next((c for c in (_column_meta(n, m) for m in metas) if c is not None), None)
        out[n] = metric_info(n, chosen)
    return out


def order_metrics(names: Iterable[str]) -> list[str]:
    """Headline columns first (catalogue order), then the other known ones, then the rest
    alphabetically."""
    names = list(dict.fromkeys(names))
    cat = catalogue()
    head = [c for c, i in cat.items() if i.headline and c in names]
    known = [c for c in cat if c in names and c not in head]
    return head + known + sorted(m for m in names if m not in cat)


def parse_column(col: str) -> tuple[str, str, bool, bool] | None:
    """(metric, level, is_difference, is_ci) of a value, difference or CI column; None for others."""
    parts = col.split(SEP)
    if len(parts) < 2:
        return None
    is_ci = parts[-1] == CI_SUFFIX
    if is_ci:
        parts = parts[:-1]
    if len(parts) != 2:
        return None
    metric, rest = parts
    is_diff = " − " in rest
    level = rest.split(" − ")[0]
    return metric, level, is_diff, is_ci


def column_direction(col: str, infos: Mapping[str, ColumnInfo]) -> bool | None:
    """``higher_is_better`` of the metric of a value / difference column (None: information only,
    an unknown metric or not a metric column)."""
    p = parse_column(col)
    info = infos.get(p[0]) if p else None
    return None if info is None else info.higher_is_better


def is_difference(col: str) -> bool:
    """True for a paired-difference column (``metric · level − complete``)."""
    p = parse_column(col)
    return p is not None and p[2]


def ranks_column(col: str, infos: Mapping[str, ColumnInfo]) -> bool:
    """True when ``col`` may be ranked (and its best value marked): a value column of a metric
    with a direction. A paired difference ``level − complete`` never is: a difference of 0 is
    also what a model that ignores the text gets, so "closest to 0" is not "best"."""
    p = parse_column(col)
    return p is not None and not p[2] and not p[3] and column_direction(col, infos) is not None


def finite_or_none(v: Any) -> float | None:
    """A table cell as a finite float, else None (missing, NaN, infinite or not a number)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def column_label(col: str, infos: Mapping[str, ColumnInfo]) -> str:
    """Display label of a value / difference / CI column (metric label with its arrow)."""
    if col == AVG_RANK:
        return "average rank ↓"
    p = parse_column(col)
    if p is None:
        return col
    metric, level, is_diff, is_ci = p
    info = infos.get(metric)
    name = info.label if info else metric
    rest = col.split(SEP)[1]
    out = f"{name} · {'Δ ' + rest if is_diff else rest}"
    return f"{out} · 95% CI" if is_ci else out


def column_config(
    columns: Iterable[str], infos: Mapping[str, ColumnInfo], show_level: bool = True
) -> dict[str, Any]:
    """``st.column_config`` for a displayed leaderboard table: labels with ↑/↓, the metric's
    number format and Markdown-safe help texts (show the table with ``placeholder="—"`` so a
    missing value never reads "None")."""
    import streamlit as st
    from lcad_bench.leaderboard.safe import md_escape

    def label(col: str) -> str:
        """The column's label; without the level when the table shows one level (the page says which)."""
        text = column_label(col, infos)
        if show_level or " − " in col:
            return text
        parts = text.split(SEP)
        return SEP.join(parts[:1] + parts[2:])

    cfg: dict[str, Any] = {
        "rank": st.column_config.NumberColumn("#", help="Rank within this comparison group (oracle and reported rows are not ranked)", format="%d", width="small"),
        "run": st.column_config.TextColumn("run", help="Model name and the first characters of the run id's hash"),
        AVG_RANK: st.column_config.NumberColumn("avg rank ↓", help="Mean of the run's ranks over the ranked columns shown (1 = best); Δ columns are not ranked, and a run without a value in every ranked column gets none (see the note under the table)", format="%.2f"),
        "failed": st.column_config.NumberColumn("failed", help="Samples that failed (left out of every mean); see Run details", format="%d"),
        "run_id": st.column_config.TextColumn("run id"),
        "citation": st.column_config.TextColumn("source", help="Where the reported numbers come from"),
    }  # fmt: skip
    for col in columns:
        p = parse_column(col)
        if p is None or col in cfg:
            continue
        metric, level, is_diff, is_ci = p
        info = infos.get(metric)
        if is_ci:
            cfg[col] = st.column_config.TextColumn(
                label(col), help="95% bootstrap interval (resampling images)"
            )
            continue
        text = f"{info.description} " if info and info.description else ""
        if info is None or info.higher_is_better is None:
            text += "Information only (no direction)."
        else:
            text += "Higher is better." if info.higher_is_better else "Lower is better."
        if is_diff:
            text += f" Paired difference {col.split(SEP, 1)[1]}: the same pairs at both levels for every run of the group that has the metric."
        cfg[col] = st.column_config.NumberColumn(
            label(col),
            help=md_escape(text.strip()),
            format=info.number_format if info else "%.3f",
        )
    return cfg
