"""What the board compares, and how: pure pandas, no Streamlit.

* A **split** is its content hash (:func:`split_choices`), shown as name + short hash: two
  builds of "imagenet-sample" with different content are two splits and never share a table.
* Within a split, runs fall into **comparison groups** (:func:`comparison_groups`): full runs
  at the current protocol, apart from runs whose output L* is the input's (``luminance_replaced``);
  partial runs (``--limit``, a subset of the levels, a shard) with the same subset; runs at
  another protocol version (never ranked). Ranks are given within a group only.
* :func:`group_table` pivots a group to rows = runs, columns = metric x level. Per-level columns
  are **paired** by default (:mod:`.paired`: the complete value and each level's paired
  difference to complete, on the pairs defined at both levels for every run of the group that has
  the metric; a run without it shows "—", named in a note);
  ``paired=False`` shows the per-level means of ``results.json`` (each level on its own pairs).
  Oracle / upper-bound models are labelled and not ranked unless asked; an average-rank column
  summarises the ranked columns, for the runs with a value in each. Never ranked: Δ columns (a Δ
  of 0 is what ignoring the text gives), information-only columns, and a distribution metric (FID)
  whose runs differ in sample count (``GroupTable.unranked`` says why).
* Reported numbers are context rows (:func:`context_table`), never ranked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from lcad_bench.leaderboard.columns import (
    AVG_RANK,
    CI_SUFFIX,
    LEVELS,
    SEP,
    ColumnInfo,
    column_direction,
    column_label,
    finite_or_none,
    is_difference,
    order_metrics,
    parse_column,
    ranks_column,
)
from lcad_bench.leaderboard.paired import BASELINE, pairable, paired_levels
from lcad_bench.leaderboard.summarize import split_label

from lcad_bench.protocol import PROTOCOL_VERSION
from lcad_bench.study.stats import is_study_column

DIFF_NOT_RANKED = "a difference of 0 is also what a model that ignores the text gets"
ID_COLUMNS = ["rank", "run", AVG_RANK, "oracle", "failed", "run_id"]
CONTEXT_COLUMNS = ["model", "scheme", "level", "citation", "status", "run_id"]


# ------------------------------------------------------------------------------------------
# splits


@dataclass(frozen=True)
class SplitChoice:
    """One split on the board: its content (hash) or, for reported numbers only, its name."""

    key: str
    name: str
    content_hash: str | None
    n_runs: int
    label: str


def split_choices(df: pd.DataFrame) -> list[SplitChoice]:
    """Reproduced split contents (most runs first, then by name), then names only reported
    numbers use."""
    rep = df["reported"].astype(bool)
    out: list[SplitChoice] = []
    repro = df[~rep & df["split_hash"].notna()]
    counts = repro.groupby(["split", "split_hash"])["run_id"].nunique().reset_index()
    counts = counts.sort_values(["run_id", "split", "split_hash"], ascending=[False, True, True])
    for name, h, n in zip(counts["split"], counts["split_hash"], counts["run_id"]):
        out.append(
            SplitChoice(
                str(h), str(name), str(h), int(n), f"{split_label(name, str(h))} ({n} runs)"
            )
        )
    no_hash = df[~rep & df["split_hash"].isna()]
    for name in sorted(no_hash["split"].dropna().astype(str).unique()):
        n = no_hash.loc[no_hash["split"] == name, "run_id"].nunique()
        out.append(
            SplitChoice(f"name:{name}", name, None, int(n), f"{split_label(name, None)} ({n} runs)")
        )
    have = {c.key for c in out}
    for name in sorted(df.loc[rep, "split"].dropna().astype(str).unique()):
        key = f"name:{name}"
        if key not in have and not any(c.name == name for c in out):
            out.append(SplitChoice(key, name, None, 0, f"{name} · reported numbers only"))
    return out


def split_rows(df: pd.DataFrame, choice: SplitChoice) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reproduced rows of the split's content, reported rows shown as its context). Reported
    numbers match by content hash when their file gives one, else by split name."""
    rep = df["reported"].astype(bool)
    if choice.content_hash is not None:
        repro = df[~rep & (df["split_hash"] == choice.content_hash).fillna(False)]
    else:
        repro = df[~rep & df["split_hash"].isna() & (df["split"] == choice.name).fillna(False)]
    same_name = df["split_hash"].isna() & (df["split"] == choice.name).fillna(False)
    same_hash = (
        (df["split_hash"] == choice.content_hash).fillna(False) if choice.content_hash else False
    )
    ctx = df[rep & (same_name | same_hash)]
    return repro, ctx


def levels_present(df: pd.DataFrame) -> list[str]:
    """Levels in protocol order (complete, partial, sparse, none), unknown ones after."""
    have = df["level"].dropna().astype(str).unique().tolist()
    return [lv for lv in LEVELS if lv in have] + sorted(lv for lv in have if lv not in LEVELS)


# ------------------------------------------------------------------------------------------
# comparison groups


@dataclass(frozen=True)
class Group:
    """Runs that may be ranked against each other."""

    key: str
    title: str
    ranked: bool
    run_ids: tuple[str, ...]
    note: str = ""
    current: bool = True  # at the current protocol version
    partial: str = ""  # the partial reasons its runs share ("" for full runs)
    luminance_replaced: bool = False

    @property
    def full(self) -> bool:
        """Full runs at the current protocol (the groups shown without "partial runs")."""
        return self.current and not self.partial


def _run_facts(df: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "run_id",
        "model",
        "protocol_version",
        "protocol_fp",
        "partial",
        "luminance_replaced",
        "oracle",
    ]
    f = df.drop_duplicates("run_id")[cols].copy()
    f["partial"] = f["partial"].fillna("").astype(str)
    f["luminance_replaced"] = f["luminance_replaced"].map(
        lambda v: bool(v) if v is not None and v == v else False
    )
    f["oracle"] = f["oracle"].map(lambda v: bool(v) if v is not None and v == v else False)
    f["current"] = f["protocol_version"] == PROTOCOL_VERSION
    return f


def comparison_groups(repro: pd.DataFrame) -> list[Group]:
    """The comparison groups of one split's reproduced rows, in display order."""
    if repro.empty:
        return []
    f = _run_facts(repro)
    fps = f.loc[f["current"], "protocol_fp"].dropna().unique()
    out: list[tuple[tuple[Any, ...], Group]] = []
    for (cur, ver, fp, part, lum), g in f.groupby(
        ["current", "protocol_version", "protocol_fp", "partial", "luminance_replaced"],
        dropna=False,
        sort=False,
    ):
        lum_txt = "output L* replaced by the input's" if lum else "model's own L*"
        if not cur:
            title, ranked = f"Protocol {ver} (current {PROTOCOL_VERSION}): not ranked", False
            order = (3, str(ver), part, lum)
        elif part:
            title, ranked = f"Partial runs ({part}) · {lum_txt}", True
            order = (2, part, "", lum)
        else:
            title, ranked = f"Full runs · {lum_txt}", True
            order = (1, "", "", lum)
        if cur and len(fps) > 1:
            title += f" · protocol settings {str(fp)[:8]}"
        note = "Ranked only against runs with the same subset." if part else ""
        key = "|".join(str(x) for x in (cur, ver, fp, part, lum))
        out.append(
            (
                order + (str(fp),),
                Group(
                    key,
                    title,
                    ranked,
                    tuple(sorted(g["run_id"].astype(str))),
                    note,
                    bool(cur),
                    str(part),
                    bool(lum),
                ),  # fmt: skip
            )
        )
    return [g for _, g in sorted(out, key=lambda t: t[0])]


# ------------------------------------------------------------------------------------------
# the table of a group


def value_column(metric: str, level: str) -> str:
    """Column of a metric's value at a level."""
    return f"{metric}{SEP}{level}"


def diff_column(metric: str, level: str, baseline: str = BASELINE) -> str:
    """Column of a metric's paired difference level − baseline."""
    return f"{metric}{SEP}{level} − {baseline}"


def ci_column(col: str) -> str:
    """Text column of a value column's 95% interval."""
    return f"{col}{SEP}{CI_SUFFIX}"


def lo_column(col: str) -> str:
    """Hidden numeric column of the interval's lower end (exports; dropped before display)."""
    return f"_lo:{col}"


def hi_column(col: str) -> str:
    return f"_hi:{col}"


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table without its hidden helper columns."""
    return frame[[c for c in frame.columns if not str(c).startswith("_")]]


@dataclass
class GroupTable:
    """A group's table and what the page says about it."""

    frame: pd.DataFrame
    sort_column: str
    value_columns: list[str]
    notes: list[str] = field(default_factory=list)
    unranked: dict[str, str] = field(default_factory=dict)  # value columns never ranked -> why


def _ci_text(lo: Any, hi: Any, decimals: int) -> str:
    if (
        lo is None
        or hi is None
        or (isinstance(lo, float) and math.isnan(lo))
        or (isinstance(hi, float) and math.isnan(hi))
    ):
        return ""
    return f"[{float(lo):.{decimals}f}, {float(hi):.{decimals}f}]"


def _n_text(n: set[tuple[int, int]]) -> str:
    if not n:
        return "no pairs"
    items = sorted(n)
    if len(items) == 1:
        return f"{items[0][0]} pairs ({items[0][1]} images)"
    return "; ".join(f"{p} pairs ({i} images)" for p, i in items)


def group_table(
    cells: pd.DataFrame,
    pairs: pd.DataFrame | None,
    infos: Mapping[str, ColumnInfo],
    run_ids: Sequence[str],
    *,
    metrics: Sequence[str],
    levels: Sequence[str],
    paired: bool = True,
    ranked: bool = True,
    rank_oracle: bool = False,
    sort_by: str | None = None,
    with_ci: bool = False,
    labels: Mapping[str, str] | None = None,
    avg_rank_metrics: Sequence[str] | None = None,
    failures: Mapping[str, int] | None = None,
) -> GroupTable:
    """Rows = the group's runs, columns = metric x level (see the module docstring).

    ``sort_by`` is a value column or :data:`AVG_RANK` (default: average rank when the table has
    a ranked column). Only non-oracle runs (all with ``rank_oracle``) of a ranked group get a
    ``rank``; oracle runs follow them, labelled. ``avg_rank_metrics`` limits the average rank to
    some metrics (default: every metric with a direction)."""
    labels = dict(labels or {})
    run_ids = list(dict.fromkeys(run_ids))
    levels = [lv for lv in LEVELS if lv in levels] + [lv for lv in levels if lv not in LEVELS]
    metrics = order_metrics(metrics)
    c = cells[cells["run_id"].isin(run_ids)].drop_duplicates(
        ["run_id", "metric", "level"], keep="first"
    )
    facts = _run_facts(c) if len(c) else pd.DataFrame(columns=["run_id", "oracle"])
    oracle = {str(r): bool(o) for r, o in zip(facts["run_id"], facts["oracle"])}
    base = pd.DataFrame({"run_id": run_ids})
    base["run"] = [labels.get(r, r) for r in run_ids]
    base["oracle"] = [oracle.get(r, False) for r in run_ids]
    base["failed"] = [int((failures or {}).get(r, 0)) for r in run_ids]
    notes: list[str] = []
    cols: dict[str, list[Any]] = {}
    value_cols: list[str] = []
    use_pairs = paired and pairs is not None and not pairs.empty
    have_pairs = set(pairs["run_id"].astype(str)) if use_pairs else set()
    unpaired_metrics: list[str] = []
    paired_ns: dict[str, list[str]] = {}  # the pairs compared -> the metrics compared on them
    sample_n: dict[str, list[float]] = {}  # distribution-metric column -> its sample count per run
    for m in metrics:
        info = infos.get(m)
        can_pair = (
            use_pairs
            and info is not None
            and pairable(info, pairs)
            and all(r in have_pairs for r in run_ids)
        )
        if paired and not can_pair and len(c[c["metric"] == m]):
            unpaired_metrics.append(m)
        if can_pair:
            pr = paired_levels(pairs, run_ids, {m: info}, levels)  # type: ignore[dict-item, arg-type]
            if pr.empty:
                continue
            ns: dict[str, set[tuple[int, int]]] = {}
            for lv in levels:
                sel = pr[pr["level"] == lv].set_index("run_id")
                if sel.empty:
                    continue
                is_diff = lv != BASELINE and BASELINE in levels
                col = diff_column(m, lv) if is_diff else value_column(m, lv)
                v, lo, hi = (
                    ("diff", "diff_low", "diff_high") if is_diff else ("value", "ci_low", "ci_high")
                )
                cols[col] = [_float(sel[v].get(r)) for r in run_ids]
                cols[lo_column(col)] = [_float(sel[lo].get(r)) for r in run_ids]
                cols[hi_column(col)] = [_float(sel[hi].get(r)) for r in run_ids]
                value_cols.append(col)
                if with_ci:
                    d = info.decimals if info else 3
                    cols[ci_column(col)] = [
                        _ci_text(sel[lo].get(r), sel[hi].get(r), d) for r in run_ids
                    ]
                ns.setdefault(col.split(SEP, 1)[1], set()).update(
                    zip(sel["n_pairs"].astype(int), sel["n_images"].astype(int))
                )
            label = info.display_name if info else m
            paired_ns.setdefault("; ".join(f"{k}: {_n_text(v)}" for k, v in ns.items()), []).append(
                label
            )
            continue
        sel_m = c[c["metric"] == m]
        if sel_m.empty:
            continue
        for lv in levels:
            sel = sel_m[sel_m["level"] == lv].set_index("run_id")
            if sel.empty:
                continue
            col = value_column(m, lv)
            if (sel["kind"] == "distribution").any():
                sample_n[col] = [_float(sel["n"].get(r)) for r in run_ids]
            cols[col] = [_float(sel["value"].get(r)) for r in run_ids]
            cols[lo_column(col)] = [_float(sel["ci_low"].get(r)) for r in run_ids]
            cols[hi_column(col)] = [_float(sel["ci_high"].get(r)) for r in run_ids]
            value_cols.append(col)
            if with_ci:
                d = info.decimals if info else 3
                cols[ci_column(col)] = [
                    _ci_text(sel["ci_low"].get(r), sel["ci_high"].get(r), d) for r in run_ids
                ]
        if not paired:
            ns_u = {
                lv: sorted({int(x) for x in sel_m.loc[sel_m["level"] == lv, "n"].dropna()})
                for lv in levels
            }
            label = info.display_name if info else m
            unit = "judgements" if is_study_column(m) else "pairs"
            notes.append(
                f"{label}: "
                + "; ".join(
                    f"{lv}: {'/'.join(map(str, v)) or '?'} {unit}" for lv, v in ns_u.items() if v
                )
            )
    notes = [f"Pairs compared ({', '.join(ms)}): {text}" for text, ms in paired_ns.items()] + notes
    if unpaired_metrics:
        names = ", ".join(infos[m].display_name if m in infos else m for m in unpaired_metrics)
        notes.append(f"Not paired (no per-pair values for every run, or a distribution metric): {names}: "
                     "each level on all its pairs, as in results.json.")  # fmt: skip
    lacking: dict[str, list[str]] = {}  # runs without a value (shown "—") -> the columns
    for col in value_cols:
        v = pd.Series(cols[col], index=base.index)
        if v.notna().any() and v.isna().any():
            who = ", ".join(map(str, base.loc[v.isna(), "run"]))
            lacking.setdefault(who, []).append(column_label(col, infos))
    for who, labs in lacking.items():
        notes.append(
            f"No value (—) for {who} in {', '.join(labs)}; the other runs are compared without them."
        )
    frame = pd.concat([base, pd.DataFrame(cols, index=base.index)], axis=1)
    rankable = pd.Series(ranked, index=frame.index) & (rank_oracle | ~frame["oracle"].astype(bool))
    avg_set = set(avg_rank_metrics) if avg_rank_metrics is not None else None
    unranked = {col: DIFF_NOT_RANKED for col in value_cols if is_difference(col)}
    if unranked:
        notes.append(
            f"Δ columns (level − {BASELINE}) are shown, never ranked nor marked best: {DIFF_NOT_RANKED}."
        )
    for col, ns in sample_n.items():  # FID: comparable only at equal N (docs/protocol.md#fid)
        have = pd.Series(ns, index=frame.index)[rankable & frame[col].notna()]
        if have.isna().any() or have.nunique() > 1:
            n_txt = "/".join(sorted({str(int(x)) if x == x else "?" for x in have}))
            unranked[col] = (
                f"its runs differ in sample count (N = {n_txt}); it is comparable only at equal N"
            )
            notes.append(
                f"{column_label(col, infos)} is shown, not ranked: {unranked[col]} (docs/protocol.md#fid)."
            )
    rank_cols = [
        col for col in value_cols
        if col not in unranked and ranks_column(col, infos) and (avg_set is None or parse_column(col)[0] in avg_set)  # type: ignore[index]
    ]  # fmt: skip
    frame[AVG_RANK] = float("nan")
    vals = frame.loc[rankable, rank_cols].apply(pd.to_numeric, errors="coerce")
    rank_cols = [col for col in rank_cols if vals[col].notna().any()]  # a column no ranked run has
    if rank_cols and rankable.any():
        # only runs with a value in every ranked column get an average rank: a missing metric
        # must neither help (fewer, better ranks) nor hurt
        full = vals[rank_cols].notna().all(axis=1)
        ranks = [vals.loc[full, col].rank(ascending=not column_direction(col, infos), method="average")
                 for col in rank_cols]  # fmt: skip
        if full.any():
            frame.loc[full[full].index, AVG_RANK] = pd.concat(ranks, axis=1).mean(axis=1)
        notes.append(f"Average rank over {len(rank_cols)} ranked columns (1 = best in each).")
        lacking = full[~full].index
        if len(lacking):
            notes.append(f"No average rank (a ranked column has no value): {', '.join(map(str, frame.loc[lacking, 'run']))}; "
                         "sort by a column to rank them on it.")  # fmt: skip
    if sort_by not in frame.columns or (
        sort_by != AVG_RANK and column_direction(sort_by, infos) is None
    ):  # a Δ column may sort the table (in its metric's direction); it gives no rank
        sort_by = AVG_RANK if rank_cols else next(iter(value_cols), AVG_RANK)
    if sort_by == AVG_RANK:
        key, ascending = pd.to_numeric(frame[AVG_RANK], errors="coerce"), True
    else:
        key = pd.to_numeric(frame[sort_by], errors="coerce")
        ascending = column_direction(sort_by, infos) is False
    frame["_group"] = (~rankable).astype(int)
    frame["_key"] = key if ascending else -key
    frame["_missing"] = key.isna()
    frame = frame.sort_values(["_group", "_missing", "_key", "run"], kind="stable")
    has_dir = sort_by == AVG_RANK or (sort_by not in unranked and ranks_column(sort_by, infos))
    give = (frame["_group"] == 0) & ~frame["_missing"] & has_dir
    frame["rank"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    if give.any():
        frame.loc[give, "rank"] = frame.loc[give, "_key"].rank(method="min").astype(int).to_numpy()
    frame = frame.drop(columns=["_group", "_key", "_missing"]).reset_index(drop=True)
    lead = [c for c in ID_COLUMNS if c in frame.columns]
    frame = frame[lead + [c for c in frame.columns if c not in lead]]
    return GroupTable(frame, sort_by, value_cols, notes, unranked)


def _float(v: Any) -> float:
    f = finite_or_none(v)
    return float("nan") if f is None else f


def best_line(table: GroupTable, infos: Mapping[str, ColumnInfo]) -> str:
    """One sentence naming the top ranked run (plain text: run labels are untrusted)."""
    f = table.frame
    if table.sort_column in table.unranked:
        label = column_label(table.sort_column, infos)
        return f"Sorted by {label}, not ranked: {table.unranked[table.sort_column]}."
    top = f[f["rank"] == 1] if "rank" in f.columns else f.iloc[0:0]
    if top.empty:
        return "No ranked run for this selection."
    r = top.iloc[0]
    names = ", ".join(str(x) for x in top["run"])
    if table.sort_column == AVG_RANK:
        return f"Best average rank: {names} ({float(r[AVG_RANK]):.2f})"
    p = parse_column(table.sort_column)
    info = infos.get(p[0]) if p else None
    label = column_label(table.sort_column, infos)
    d = info.decimals if info else 3
    return f"Top by {label}: {names} = {float(r[table.sort_column]):.{d}f}"


# ------------------------------------------------------------------------------------------
# reported numbers


def context_table(ctx: pd.DataFrame, runs: Mapping[str, Mapping[str, Any]], metrics: Sequence[str],
                  levels: Sequence[str]) -> pd.DataFrame:  # fmt: skip
    """Reported numbers of a split: one row per source x method (model, version, scheme) x level
    (context, never ranked). A reported file holds each of these once (``reported.ReportedFile``),
    so the pivot below never has two values for a cell."""
    if ctx.empty:
        return pd.DataFrame(columns=CONTEXT_COLUMNS)
    f = ctx[ctx["level"].isin(list(levels)) & ctx["metric"].isin(list(metrics))]
    if f.empty:
        return pd.DataFrame(columns=CONTEXT_COLUMNS)
    piv = f.pivot_table(
        index=["run_id", "level"], columns="metric", values="value", aggfunc="first"
    )
    piv = piv[[m for m in order_metrics(metrics) if m in piv.columns]].reset_index()

    def model(r: str) -> str:
        e = runs.get(r, {})
        v = e.get("model_version")
        return str(e.get("model", r)) + (f" {v}" if v else "")

    scheme = ctx.drop_duplicates("run_id").set_index("run_id")["scheme"]
    out = pd.DataFrame(
        {
            "model": [model(r) for r in piv["run_id"]],
            "scheme": [str(scheme.get(r, "")) for r in piv["run_id"]],
            "level": piv["level"],
        }
    )
    cit = [runs.get(r, {}).get("details", {}).get("citation", {}) for r in piv["run_id"]]
    out["citation"] = [
        f"{c.get('text', '?')} ({c.get('table') or c.get('figure') or c.get('page') or c.get('comment') or ''})"
        for c in cit
    ]
    out["status"] = [
        str(runs.get(r, {}).get("details", {}).get("status", "?")) for r in piv["run_id"]
    ]
    for m in piv.columns:
        if m not in ("run_id", "level"):
            out[value_column(m, "reported")] = piv[m].astype(float)
    out["run_id"] = piv["run_id"]
    return out


# ------------------------------------------------------------------------------------------
# the per-level chart


def degradation_frame(
    cells: pd.DataFrame,
    pairs: pd.DataFrame | None,
    info: ColumnInfo,
    run_ids: Sequence[str],
    *,
    levels: Sequence[str] = LEVELS,
    paired: bool = True,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per run x level for the per-level chart and its table.

    Paired: ``value`` is the paired difference to complete (0 at complete) with its bootstrap
    interval, on ``n_pairs`` pairs defined at both levels for every run. Unpaired: the per-level
    means of results.json with their intervals and ``n_pairs``."""
    labels = dict(labels or {})
    cols = [
        "run",
        "run_id",
        "level",
        "value",
        "ci_low",
        "ci_high",
        "n_pairs",
        "n_images",
        "level_order",
        "level_value",
        "level_ci_low",
        "level_ci_high",
    ]
    order = {lv: i for i, lv in enumerate(LEVELS)}
    rows: list[dict[str, Any]] = []
    lv = [x for x in LEVELS if x in levels]
    if paired:
        if pairs is None or pairs.empty or not pairable(info, pairs):
            return pd.DataFrame(columns=cols)
        if BASELINE not in lv:
            lv = [BASELINE, *lv]
        pr = paired_levels(pairs, run_ids, {info.name: info}, lv)
        for r in pr.itertuples():
            if r.level == BASELINE:
                v = lo = hi = 0.0 if r.value is not None and r.value == r.value else None
            else:
                v, lo, hi = r.diff, r.diff_low, r.diff_high
            if v is None or v != v:
                continue
            rows.append({"run": labels.get(r.run_id, r.run_id), "run_id": r.run_id, "level": r.level, "value": v,
                         "ci_low": lo, "ci_high": hi, "n_pairs": r.n_pairs, "n_images": r.n_images,
                         "level_order": order.get(r.level, 99), "level_value": r.value, "level_ci_low": r.ci_low,
                         "level_ci_high": r.ci_high})  # fmt: skip
    else:
        f = cells[
            cells["run_id"].isin(list(run_ids))
            & (cells["metric"] == info.name)
            & cells["level"].isin(lv)
        ]
        f = f.dropna(subset=["value"]).drop_duplicates(["run_id", "level"])
        for r in f.itertuples():
            rows.append({"run": labels.get(r.run_id, r.run_id), "run_id": r.run_id, "level": r.level,
                         "value": float(r.value), "ci_low": _float(r.ci_low), "ci_high": _float(r.ci_high),
                         "n_pairs": None if r.n != r.n else int(r.n),
                         "n_images": None if r.n_images != r.n_images or r.n_images is None else int(r.n_images),
                         "level_order": order.get(r.level, 99), "level_value": float(r.value),
                         "level_ci_low": _float(r.ci_low), "level_ci_high": _float(r.ci_high)})  # fmt: skip
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["run", "level_order"]).reset_index(drop=True)


def degradation_table(frame: pd.DataFrame, info: ColumnInfo, paired: bool) -> pd.DataFrame:
    """The chart's numbers as a table: per run, each level's value (paired: the value at complete
    and each other level's Δ to complete) with its interval, and n per level in the column name."""
    if frame.empty:
        return pd.DataFrame(columns=["run"])
    out = pd.DataFrame({"run": sorted(frame["run"].unique())}).set_index("run")
    for lv in [x for x in LEVELS if x in set(frame["level"])]:
        sel = frame[frame["level"] == lv].set_index("run")
        ns = sorted({int(x) for x in sel["n_pairs"].dropna()})
        n_txt = "/".join(map(str, ns)) or "?"
        head = (lv if lv == BASELINE else f"{lv} − {BASELINE}") if paired else lv
        name = f"{head} (n={n_txt})"
        v, lo, hi = (
            ("level_value", "level_ci_low", "level_ci_high")
            if lv == BASELINE
            else ("value", "ci_low", "ci_high")
        )
        out[name] = sel[v].reindex(out.index).astype(float)
        out[f"{name} 95% CI"] = [
            _ci_text(sel[lo].get(r), sel[hi].get(r), info.decimals) for r in out.index
        ]
    return out.reset_index()
