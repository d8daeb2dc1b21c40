"""Filtering, pivoting and sorting of the tidy leaderboard table: pure pandas, no Streamlit."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
from lcad_bench.leaderboard.columns import (
    LEVELS,
    ColumnInfo,
    ci_column_name,
    column_name,
    order_metrics,
)

SOURCES = ("all", "reproduced", "reported")
ID_COLUMNS = ["rank", "model", "source", "run_id", "luminance_replaced", "n_pairs", "date"]


def filter_board(
    df: pd.DataFrame,
    *,
    split: str | None = None,
    levels: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    source: str = "all",
    include_other_settings: bool = True,
) -> pd.DataFrame:
    """Rows of ``df`` that match every given filter (None or empty: no filter)."""
    if source not in SOURCES:
        raise ValueError(f"source {source!r}: expected one of {SOURCES}")
    m = pd.Series(True, index=df.index)
    if split is not None:
        m &= df["split"] == split
    if levels:
        m &= df["level"].isin(list(levels))
    if metrics:
        m &= df["metric"].isin(list(metrics))
    if models:
        m &= df["model"].isin(list(models))
    if source == "reproduced":
        m &= ~df["reported"].astype(bool)
    elif source == "reported":
        m &= df["reported"].astype(bool)
    if not include_other_settings:
        m &= df["rankable"].astype(bool) | df["reported"].astype(bool)
    return df[m.fillna(False).astype(bool)]


def levels_present(df: pd.DataFrame) -> list[str]:
    """Levels in protocol order (complete, partial, sparse, none), unknown ones after."""
    have = df["level"].dropna().astype(str).unique().tolist()
    return [lv for lv in LEVELS if lv in have] + sorted(lv for lv in have if lv not in LEVELS)


def run_labels(df: pd.DataFrame) -> dict[str, str]:
    """run_id -> a display label: the model name, with the run id when a model has several runs."""
    runs = df[["run_id", "model", "reported"]].drop_duplicates("run_id")
    counts = runs["model"].value_counts()
    out = {}
    for rid, model, rep in zip(runs["run_id"], runs["model"], runs["reported"]):
        label = str(model) if counts[model] == 1 else f"{model} [{str(rid)[-12:]}]"
        out[str(rid)] = f"{label} (reported)" if bool(rep) else label
    return out


def wide_table(
    df: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    levels: Sequence[str] | None = None,
    with_ci: bool = False,
) -> pd.DataFrame:
    """Rows = runs, columns = metric x level (``columns.column_name``), plus id columns.

    ``metrics`` and ``levels`` fix the column order (default: headline metrics first, protocol
    level order). With ``with_ci`` each value column is followed by its 95% CI as text."""
    metrics = list(metrics) if metrics else order_metrics(df["metric"].dropna().unique().tolist())
    levels = list(levels) if levels else levels_present(df)
    base_cols = ["run_id", "model", "source", "rankable", "luminance_replaced", "n_pairs", "date"]
    if df.empty:
        return pd.DataFrame(
            columns=[
                "rank",
                "model",
                "source",
                "run_id",
                "luminance_replaced",
                "n_pairs",
                "date",
                "rankable",
            ]
        )
    d = df.drop_duplicates(["run_id", "metric", "level"], keep="first")
    ids = (
        d.groupby("run_id", sort=False)
        .agg(model=("model", "first"), reported=("reported", "first"), rankable=("rankable", "first"),
             luminance_replaced=("luminance_replaced", "first"), n_pairs=("n", "max"), date=("date", "first"))
    )  # fmt: skip
    ids["source"] = ids["reported"].map(lambda r: "reported" if bool(r) else "reproduced")
    ids = ids.drop(columns=["reported"])
    val = d.pivot(index="run_id", columns=["metric", "level"], values="value")
    out = ids.copy()
    for metric in metrics:
        for level in levels:
            col = column_name(metric, level)
            out[col] = val[(metric, level)] if (metric, level) in val.columns else float("nan")
            if with_ci:
                lo = d.pivot(index="run_id", columns=["metric", "level"], values="ci_low")
                hi = d.pivot(index="run_id", columns=["metric", "level"], values="ci_high")
                if (metric, level) in lo.columns:
                    texts = [
                        _ci_text(a, b) for a, b in zip(lo[(metric, level)], hi[(metric, level)])
                    ]
                    out[ci_column_name(metric, level)] = pd.Series(texts, index=lo.index)
                else:
                    out[ci_column_name(metric, level)] = ""
    out = out.reset_index()
    out.insert(0, "rank", pd.array([pd.NA] * len(out), dtype="Int64"))
    lead = [
        "rank",
        "model",
        "source",
        "run_id",
        "luminance_replaced",
        "n_pairs",
        "date",
        "rankable",
    ]
    out = out[lead + [c for c in out.columns if c not in lead]]
    value_cols = [
        c for c in out.columns if c not in base_cols and c != "rank" and not c.endswith("95% CI")
    ]
    if value_cols:
        out = out[out[value_cols].notna().any(axis=1) | (out["source"] == "reported")]
    return out.reset_index(drop=True)


def _ci_text(lo: float, hi: float) -> str:
    if (
        lo is None
        or hi is None
        or (isinstance(lo, float) and math.isnan(lo))
        or (isinstance(hi, float) and math.isnan(hi))
    ):
        return ""
    return f"[{lo:.4g}, {hi:.4g}]"


def sort_wide(wide: pd.DataFrame, by: str | None, info: ColumnInfo | None) -> pd.DataFrame:
    """Rankable reproduced runs first (sorted by ``by`` in the metric's direction, missing values
    last, ranked 1..k), then reproduced runs with other settings, then reported rows (context)."""
    if wide.empty:
        return wide
    w = wide.copy()
    group = w["source"].map({"reproduced": 0, "reported": 2}).fillna(1).astype(int)
    group[(w["source"] == "reproduced") & ~w["rankable"].astype(bool)] = 1
    w["_group"] = group
    ascending = bool(info is not None and info.higher_is_better is False)
    if by is not None and by in w.columns:
        key = pd.to_numeric(w[by], errors="coerce")
        w["_key"] = key if ascending else -key
        w["_missing"] = key.isna()
        w = w.sort_values(["_group", "_missing", "_key", "model"], kind="stable")
    else:
        w = w.sort_values(["_group", "model"], kind="stable")
    ranked = (w["_group"] == 0) & (~w["_missing"] if "_missing" in w else True)
    if (
        by is not None
        and by in w.columns
        and info is not None
        and info.higher_is_better is not None
    ):
        w.loc[ranked, "rank"] = range(1, int(ranked.sum()) + 1)
    return w.drop(
        columns=[c for c in ("_group", "_key", "_missing") if c in w.columns]
    ).reset_index(drop=True)


def leaderboard(
    df: pd.DataFrame,
    infos: Mapping[str, ColumnInfo],
    *,
    split: str | None,
    level: str | None = None,
    metrics: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    source: str = "all",
    include_other_settings: bool = True,
    sort_metric: str | None = None,
    with_ci: bool = False,
) -> tuple[pd.DataFrame, str | None]:
    """The page's table in one call: filter, pivot and sort; returns (table, sort column)."""
    f = filter_board(df, split=split, levels=[level] if level else None, metrics=metrics, models=models,
                     source=source, include_other_settings=include_other_settings)  # fmt: skip
    ms = (
        order_metrics(metrics) if metrics else order_metrics(f["metric"].dropna().unique().tolist())
    )
    wide = wide_table(f, ms, [level] if level else None, with_ci=with_ci)
    lvls = [level] if level else levels_present(f)
    sm = (
        sort_metric
        if sort_metric in ms
        else next(
            (m for m in ms if infos.get(m) is None or infos[m].higher_is_better is not None), None
        )
    )
    by = column_name(sm, lvls[0]) if sm and lvls else None
    return sort_wide(wide, by, infos.get(sm) if sm else None), by


def best_line(table: pd.DataFrame, by: str | None, info: ColumnInfo | None) -> str:
    """One sentence naming the top ranked run and its value (shown above the table)."""
    if by is None or table.empty or by not in table.columns or info is None:
        return "No ranked value for this selection."
    top = table[table["rank"] == 1]
    if top.empty:
        return "No ranked value for this selection."
    r = top.iloc[0]
    metric, level = by.split(" · ")[:2]
    return f"Top at level {level} by {info.label}: {r['model']} = {float(r[by]):.{info.decimals}f}"


def degradation_frame(
    df: pd.DataFrame,
    metric: str,
    *,
    split: str | None,
    models: Sequence[str] | None = None,
    source: str = "all",
) -> pd.DataFrame:
    """Long frame for the per-level chart: one row per run x level of ``metric``."""
    f = filter_board(df, split=split, metrics=[metric], models=models, source=source)
    f = f.dropna(subset=["value"]).drop_duplicates(["run_id", "level"])
    labels = run_labels(f) if len(f) else {}
    order = {lv: i for i, lv in enumerate(levels_present(f))}
    out = pd.DataFrame({
        "run": [labels.get(str(r), str(r)) for r in f["run_id"]], "run_id": f["run_id"].astype(str).to_numpy(),
        "level": f["level"].astype(str).to_numpy(), "value": f["value"].astype(float).to_numpy(),
        "ci_low": f["ci_low"].astype(float).to_numpy(), "ci_high": f["ci_high"].astype(float).to_numpy(),
        "level_order": [order.get(str(lv), 99) for lv in f["level"]],
    })  # fmt: skip
    return out.sort_values(["run", "level_order"]).reset_index(drop=True)


def degradation(
    df: pd.DataFrame, metric: str, *, split: str | None, models: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per run: the value at each level and the change from complete to sparse (and none)."""
    f = degradation_frame(df, metric, split=split, models=models)
    if f.empty:
        return pd.DataFrame(columns=["run", *LEVELS])
    piv = f.pivot_table(index="run", columns="level", values="value", aggfunc="first")
    piv = piv[[lv for lv in levels_present(f) if lv in piv.columns]]
    if "complete" in piv.columns and "sparse" in piv.columns:
        piv["sparse − complete"] = piv["sparse"] - piv["complete"]
    if "complete" in piv.columns and "none" in piv.columns:
        piv["none − complete"] = piv["none"] - piv["complete"]
    return piv.reset_index()
