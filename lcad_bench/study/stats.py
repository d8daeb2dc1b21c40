"""Analysis of user studies (docs/protocol.md#user-studies): preference % with Wilson 95%
intervals; MOS with a bootstrap interval over raters and items for Likert imports;
Bradley-Terry strengths (MM algorithm, first method fixed at 0, bootstrap over raters);
Krippendorff's alpha; raters failing more than 20% of catch trials are excluded and listed."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lcad_bench.errors import UsageError
from lcad_bench.metrics.base import ColumnInfo
from lcad_bench.study.design import CATCH_FAIL_LIMIT, GT, Z95

ALL_LEVELS = "all"
WIN_RATE, BT_SCORE = "win", "bt"
BY_LEVEL_COLUMNS = ["criterion", "level", "method", "chosen", "shown", "win_rate", "ci_low", "ci_high",
                    "bt", "bt_low", "bt_high"]  # fmt: skip


STUDY_COLUMN_PREFIX = "study:"


def is_study_column(name: str) -> bool:
    """True for a board column that holds a user-study result (:func:`study_column`)."""
    return str(name).startswith(STUDY_COLUMN_PREFIX)


def study_column(study_id: str, criterion: str, kind: str) -> ColumnInfo:
    """Display facts of a study result shown as a board column (one source for the leaderboard
    table, the per-level chart and exports): the win rate (chosen / shown, Wilson 95%) or the
    Bradley-Terry log-strength (bootstrap over raters) of a run in study ``study_id``."""
    name = f"{STUDY_COLUMN_PREFIX}{study_id}:{criterion}:{kind}"
    if kind == WIN_RATE:
        return ColumnInfo(name, f"win rate ({study_id}, {criterion})",
                          "User study: times chosen / times shown, Wilson 95% interval.", True, 3, (0.0, 1.0))  # fmt: skip
    if kind == BT_SCORE:
        return ColumnInfo(name, f"BT score ({study_id}, {criterion})",
                          "User study: Bradley-Terry log-strength (first method 0), 95% bootstrap over raters.",
                          True, 3)  # fmt: skip
    raise UsageError(f"study column kind {kind!r}: expected {WIN_RATE!r} or {BT_SCORE!r}")


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95% by default)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def shown_methods(v: Any) -> list[str]:
    """The methods of a response's ``shown_methods`` (stored as JSON text), [] when unreadable."""
    if isinstance(v, list):
        return [str(x) for x in v]
    try:
        out = json.loads(v)
    except (TypeError, ValueError):
        return []
    return [str(x) for x in out] if isinstance(out, list) else []


def catch_exclusions(df: pd.DataFrame, limit: float = CATCH_FAIL_LIMIT) -> dict[str, float]:
    """Raters failing more than ``limit`` of their catch trials -> their failure rate."""
    c = df[df["is_catch"].astype(bool)]
    out = {}
    for rater, g in c.groupby("rater_id"):
        fail = float((g["choice"] != GT).mean())
        if fail > limit:
            out[str(rater)] = fail
    return out


def preference_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per criterion x method: times chosen / times shown, % and Wilson 95% interval."""
    rows = []
    f = df[(df["design"] == "2afc") & ~df["is_catch"].astype(bool)]
    for crit, g in f.groupby("criterion"):
        shown: dict[str, int] = {}
        won: dict[str, int] = {}
        for s, ch in zip(g["shown_methods"], g["choice"]):
            for m in shown_methods(s):
                shown[m] = shown.get(m, 0) + 1
            won[str(ch)] = won.get(str(ch), 0) + 1
        for m in sorted(shown):
            k, n = won.get(m, 0), shown[m]
            lo, hi = wilson_interval(k, n)
            rows.append(
                {
                    "criterion": crit,
                    "method": m,
                    "chosen": k,
                    "shown": n,
                    "preference": k / n,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    return pd.DataFrame(
        rows, columns=["criterion", "method", "chosen", "shown", "preference", "ci_low", "ci_high"]
    )


def comparisons(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(winner, loser) per pairwise judgement."""
    out = []
    for s, ch in zip(df["shown_methods"], df["choice"]):
        ms = shown_methods(s)
        if len(ms) != 2 or ch not in ms:
            continue
        out.append((str(ch), ms[1] if ms[0] == ch else ms[0]))
    return out


def mle_problem(methods: Sequence[str], wins: np.ndarray) -> str | None:
    """Why the Bradley-Terry MLE does not exist for ``wins[i, j]`` (times method i beat method
    j), or None. It exists exactly when the directed graph "i beat j at least once" is strongly
    connected (Hunter 2004, Assumption 1: for every split of the methods into two non-empty
    groups, some method of the second beats some method of the first at least once); checked
    with ``scipy.sparse.csgraph.connected_components``."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    beats = csr_matrix((wins > 0).astype(np.int8))
    if connected_components(beats, directed=True, connection="weak")[0] > 1:
        return "the comparison graph is not connected: some methods were never compared, even indirectly"
    n, label = connected_components(beats, directed=True, connection="strong")
    if n == 1:
        return None
    src, dst = beats.nonzero()
    beats_outside = {int(label[a]) for a, b in zip(src, dst) if label[a] != label[b]}
    losers = sorted(m for i, m in enumerate(methods) if int(label[i]) not in beats_outside)
    return (f"{', '.join(losers)} never beat any other method: the graph 'i beat j' is not strongly connected "
            "(Hunter 2004, Assumption 1), so the Bradley-Terry MLE does not exist")  # fmt: skip


def bradley_terry(comps: Sequence[tuple[str, str]], methods: Sequence[str] | None = None,
                  max_iter: int = 10_000, tol: float = 1e-10) -> dict[str, float]:  # fmt: skip
    """Bradley-Terry log-strengths by the MM algorithm (Hunter 2004); the first method is 0.

    ``comps`` are (winner, loser) pairs. The fit is refused (``UsageError``) when the MLE does not
    exist: :func:`mle_problem` (the "beats" graph must be strongly connected)."""
    ms = list(methods) if methods else sorted({x for c in comps for x in c})
    idx = {m: i for i, m in enumerate(ms)}
    k = len(ms)
    if k < 2:
        raise UsageError("Bradley-Terry needs at least two methods")
    wins = np.zeros((k, k))
    for w, lo in comps:
        wins[idx[w], idx[lo]] += 1
    problem = mle_problem(ms, wins)
    if problem:
        raise UsageError(problem)
    n = wins + wins.T
    w = wins.sum(axis=1)
    p = np.ones(k)
    for _ in range(max_iter):
        denom = (n / (p[:, None] + p[None, :])).sum(axis=1)
        new = w / denom
        new /= new[0]
        if np.max(np.abs(np.log(new) - np.log(p))) < tol:
            p = new
            break
        p = new
    return {m: float(np.log(p[i])) for m, i in idx.items()}


def bradley_terry_table(df: pd.DataFrame, b: int = 200, seed: int = 0) -> pd.DataFrame:
    """Per criterion: BT log-strengths with a 95% bootstrap interval over raters."""
    rows = []
    f = df[(df["design"] == "2afc") & ~df["is_catch"].astype(bool)]
    for crit, g in f.groupby("criterion"):
        comps = comparisons(g)
        methods = sorted({x for c in comps for x in c})
        try:
            est = bradley_terry(comps, methods)
        except UsageError as exc:
            rows.append(
                {
                    "criterion": crit,
                    "method": None,
                    "strength": None,
                    "ci_low": None,
                    "ci_high": None,
                    "note": str(exc),
                }
            )
            continue
        raters = sorted(g["rater_id"].unique())
        by_rater = {r: comparisons(g[g["rater_id"] == r]) for r in raters}
        rng = np.random.default_rng(seed)
        boots: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(b if len(raters) > 1 else 0):
            pick = rng.integers(0, len(raters), len(raters))
            cs = [c for i in pick for c in by_rater[raters[i]]]
            try:
                e = bradley_terry(cs, methods, max_iter=2000, tol=1e-8)
            except (UsageError, KeyError):
                continue
            for m in methods:
                boots[m].append(e[m])
        for m in methods:
            lo, hi = (
                np.percentile(boots[m], [2.5, 97.5])
                if len(boots[m]) >= 20
                else (math.nan, math.nan)
            )
            rows.append(
                {
                    "criterion": crit,
                    "method": m,
                    "strength": est[m],
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "note": f"{methods[0]} fixed at 0",
                }
            )
    return pd.DataFrame(
        rows, columns=["criterion", "method", "strength", "ci_low", "ci_high", "note"]
    )


def mos_table(df: pd.DataFrame, b: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per criterion x method: mean opinion score with a 95% bootstrap over raters and items."""
    rows = []
    f = df[(df["design"] == "likert") & df["score"].notna()].copy()
    if f.empty:
        return pd.DataFrame(columns=["criterion", "method", "mos", "ci_low", "ci_high", "n"])
    f["method"] = [(shown_methods(s) or [None])[0] for s in f["shown_methods"]]
    f["unit"] = f["pair_id"].astype(str) + "|" + f["level"].astype(str)
    rng = np.random.default_rng(seed)
    for (crit, m), g in f.groupby(["criterion", "method"]):
        raters = g["rater_id"].unique()
        units = g["unit"].unique()
        means = []
        for _ in range(b):
            rs = pd.Series(rng.choice(raters, len(raters))).value_counts()
            us = pd.Series(rng.choice(units, len(units))).value_counts()
            wgt = (
                g["rater_id"].map(rs).fillna(0).to_numpy() * g["unit"].map(us).fillna(0).to_numpy()
            )
            if wgt.sum() > 0:
                means.append(float(np.average(g["score"].to_numpy(float), weights=wgt)))
        lo, hi = np.percentile(means, [2.5, 97.5]) if means else (math.nan, math.nan)
        rows.append(
            {
                "criterion": crit,
                "method": m,
                "mos": float(g["score"].mean()),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "n": len(g),
            }
        )
    return pd.DataFrame(rows, columns=["criterion", "method", "mos", "ci_low", "ci_high", "n"])


def krippendorff_alpha(units: Mapping[str, Sequence[Any]], metric: str = "nominal") -> float:
    """Krippendorff's alpha from {unit: [values of the raters who coded it]}."""
    vals = {u: [v for v in vs if v is not None] for u, vs in units.items()}
    vals = {u: vs for u, vs in vals.items() if len(vs) >= 2}
    if not vals:
        return math.nan

    def delta(a: Any, b: Any) -> float:
        if metric == "interval":
            return (float(a) - float(b)) ** 2
        return 0.0 if a == b else 1.0

    d_o, n_total = 0.0, 0
    pooled: list[Any] = []
    for vs in vals.values():
        m = len(vs)
        s = sum(delta(a, b) for i, a in enumerate(vs) for j, b in enumerate(vs) if i != j)
        d_o += s / (m - 1)
        n_total += m
        pooled.extend(vs)
    d_o /= n_total
    s = (
        sum(delta(a, b) for i, a in enumerate(pooled) for j, b in enumerate(pooled) if i != j)
        if len(pooled) <= 3000
        else None
    )
    if s is None:  # large: count distinct values instead of pairs
        from collections import Counter

        cnt = Counter(pooled)
        keys = list(cnt)
        s = sum(cnt[a] * cnt[b] * delta(a, b) for a in keys for b in keys)
    d_e = s / (n_total * (n_total - 1))
    if d_e == 0:
        return 1.0 if d_o == 0 else math.nan
    return 1.0 - d_o / d_e


def by_level_table(df: pd.DataFrame, b: int = 200, seed: int = 0) -> pd.DataFrame:
    """Per criterion x level (and over all levels, ``level == "all"``) x method: win rate
    (chosen / shown) with its Wilson 95% interval, and the Bradley-Terry log-strength with a 95%
    bootstrap interval over raters where it is defined (methods not all shown together in every
    item, a strongly connected "beats" graph: :func:`mle_problem`). Catch trials and
    Likert rows are left out; pass the rows of kept raters."""
    f = df[(df["design"] == "2afc") & ~df["is_catch"].astype(bool)]
    rows: list[dict[str, Any]] = []
    if f.empty:
        return pd.DataFrame(columns=BY_LEVEL_COLUMNS)
    for crit, g in f.groupby("criterion"):
        parts = [(lv, gg) for lv, gg in g.groupby("level")] + [(ALL_LEVELS, g)]
        for lv, gg in parts:
            pref = preference_table(gg)
            n_methods = len({m for x in gg["shown_methods"] for m in shown_methods(x)})
            together = all(len(set(shown_methods(s))) >= n_methods for s in gg["shown_methods"])
            bt = (
                bradley_terry_table(gg, b=b, seed=seed)
                if not together
                else pd.DataFrame(columns=["method"])
            )
            bt = bt[bt["method"].notna()].set_index("method") if len(bt) else bt
            for p in pref.itertuples():
                has = len(bt) and p.method in bt.index
                rows.append({"criterion": crit, "level": lv, "method": p.method, "chosen": int(p.chosen),
                             "shown": int(p.shown), "win_rate": float(p.preference), "ci_low": float(p.ci_low),
                             "ci_high": float(p.ci_high),
                             "bt": float(bt.loc[p.method, "strength"]) if has else None,
                             "bt_low": float(bt.loc[p.method, "ci_low"]) if has else None,
                             "bt_high": float(bt.loc[p.method, "ci_high"]) if has else None})  # fmt: skip
    return pd.DataFrame(rows, columns=BY_LEVEL_COLUMNS)


def analyze(df: pd.DataFrame, b: int = 200, seed: int = 0) -> dict[str, Any]:
    """Everything the study panel shows, per study."""
    out: dict[str, Any] = {}
    for sid, g in df.groupby("study_id"):
        excluded = catch_exclusions(g)
        kept = g[~g["rater_id"].isin(excluded)]
        real = kept[~kept["is_catch"].astype(bool)]
        pairwise = real[real["design"] == "2afc"]
        methods_per_item = [tuple(sorted(shown_methods(s))) for s in pairwise["shown_methods"]]
        all_methods = sorted({m for t in methods_per_item for m in t})
        all_together = bool(methods_per_item) and all(
            len(t) == len(all_methods) for t in methods_per_item
        )
        units_nom = {}
        for (item, crit), gg in pairwise.groupby(["item_id", "criterion"]):
            units_nom[f"{item}|{crit}"] = list(gg["choice"])
        lik = real[real["design"] == "likert"]
        units_int = {
            f"{i}|{c}": list(gg["score"]) for (i, c), gg in lik.groupby(["item_id", "criterion"])
        }
        res: dict[str, Any] = {
            "n_raters": int(real["rater_id"].nunique()),
            "n_items": int(real["item_id"].nunique()),
            "n_judgements": len(real),
            "criteria": sorted(real["criterion"].unique().tolist()),
            "levels": sorted(real["level"].unique().tolist()),
            "first": str(g["timestamp"].min()) if len(g) else None,
            "last": str(g["timestamp"].max()) if len(g) else None,
            "excluded_raters": excluded,
            "n_catch": int(g["is_catch"].astype(bool).sum()),
            "preference": preference_table(real).to_dict("records"),
            "mos": mos_table(real, b=b, seed=seed).to_dict("records"),
            "krippendorff_alpha_choice": krippendorff_alpha(units_nom) if units_nom else None,
            "krippendorff_alpha_score": krippendorff_alpha(units_int, "interval")
            if units_int
            else None,
            "all_methods_shown_together": all_together,
        }
        res["by_level"] = by_level_table(real, b=b, seed=seed).to_dict("records")
        res["bradley_terry"] = (
            bradley_terry_table(real, b=b, seed=seed).to_dict("records")
            if (len(pairwise) and not all_together)
            else []
        )
        out[str(sid)] = res
    return json.loads(json.dumps(out, default=_json_default, allow_nan=True))


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)
