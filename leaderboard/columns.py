"""Metric display facts -> table columns.

Display facts have one source: the :class:`~lcad_bench.metrics.base.ColumnInfo` each metric
declares (``lcad_bench.metrics.catalogue``). A column no registered metric writes (a plug-in
metric) takes its facts from the run's ``results.json`` metadata (validated: wrong types are
ignored) or gets a neutral entry (no direction arrow, 3 decimals). Streamlit is imported only
inside :func:`column_config`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from lcad_bench.metrics import catalogue
from lcad_bench.metrics.base import ColumnInfo
from lcad_bench.protocol import LEVELS

__all__ = ["LEVELS", "ColumnInfo", "ci_column_name", "column_config", "column_name", "merge_metadata",
           "metric_info", "order_metrics"]  # fmt: skip


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


def column_name(metric: str, level: str) -> str:
    """Wide-table column of a metric at a level."""
    return f"{metric} · {level}"


def ci_column_name(metric: str, level: str) -> str:
    return f"{metric} · {level} · 95% CI"


def column_config(columns: Iterable[str], infos: Mapping[str, ColumnInfo]) -> dict[str, Any]:
    """``st.column_config`` for the wide table: label with ↑/↓, ``help`` and number format."""
    import streamlit as st

    cfg: dict[str, Any] = {
        "rank": st.column_config.NumberColumn(
            "#", help="Rank among reproduced runs (reported rows are context only)", format="%d", width="small",
        ),
        "model": st.column_config.TextColumn("model", help="Model name (and version)"),
        "source": st.column_config.TextColumn(
            "source", help="reproduced: a run folder; reported: a published number (not ranked)"
        ),
        "run_id": st.column_config.TextColumn("run id"),
        "n_pairs": st.column_config.NumberColumn("pairs", format="%d"),
        "luminance_replaced": st.column_config.CheckboxColumn(
            "L* replaced", help="Output luminance replaced by the input L* (ranked separately)",
        ),
    }  # fmt: skip
    for col in columns:
        parts = col.split(" · ")
        if len(parts) < 2 or parts[0] not in infos:
            continue
        info, level = infos[parts[0]], parts[1]
        if len(parts) == 3:
            cfg[col] = st.column_config.TextColumn(
                f"{info.display_name} · {level} CI",
                help=f"95% bootstrap interval of {info.display_name} at level {level}",
            )
            continue
        help_text = f"{info.description} " if info.description else ""
        if info.higher_is_better is None:
            help_text += "Information only (no direction)."
        else:
            help_text += "Higher is better." if info.higher_is_better else "Lower is better."
        cfg[col] = st.column_config.NumberColumn(
            f"{info.label} · {level}", help=help_text.strip(), format=info.number_format
        )
    return cfg
