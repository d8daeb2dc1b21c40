"""Paired per-level analysis from the board's per-pair values (``pairs.parquet``).

The per-level means in ``results.json`` average different subsets: the partial level exists
only for pairs with two or more colour phrases, so even a model that ignores the text "changes"
between complete and partial. Here each level is compared with the baseline level (complete) on
the **same pairs**: those where the metric is defined at both levels for every compared run
(failed samples and missing values drop the pair for everyone), and the number of pairs and
images is stated. Values are means over pairs of the per-pair values (seeds averaged); a derived
column (ΔCF) applies its ``derive`` to the means of its inputs. 95% intervals use the protocol's
image bootstrap (docs/protocol.md#aggregation-and-results): ``default_rng(BOOTSTRAP_SEED)``
draws ``integers(0, G, size=(BOOTSTRAP_B, G))`` over the G sorted image keys, so a level whose
pairs cover all images gets exactly the interval ``results.json`` records; the difference to
the baseline is bootstrapped on the same resamples (paired).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from lcad_bench.metrics.base import ColumnInfo
from lcad_bench.protocol import BOOTSTRAP_B, BOOTSTRAP_SEED, LEVELS

BASELINE = LEVELS[0]
PAIRED_COLUMNS = ["run_id", "metric", "level", "baseline", "value", "ci_low", "ci_high", "diff",
                  "diff_low", "diff_high", "n_pairs", "n_images"]  # fmt: skip


@lru_cache(maxsize=64)
def bootstrap_weights(g: int, b: int = BOOTSTRAP_B, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """b x g: how often each of g groups (images) is drawn in each replicate; the same draws as
    ``lcad_bench.evaluation.aggregate.bootstrap_stat``."""
    idx = np.random.default_rng(seed).integers(0, g, size=(b, g))
    w = np.zeros((b, g))
    np.add.at(w, (np.repeat(np.arange(b), g), idx.ravel()), 1.0)
    w.setflags(write=False)
    return w


def _inputs(info: ColumnInfo) -> tuple[str, ...]:
    return tuple(info.derived_from) or (info.name,)


def pairable(info: ColumnInfo, pairs: pd.DataFrame) -> bool:
    """True when ``pairs`` holds the per-pair columns the metric needs."""
    return all(c in pairs.columns for c in _inputs(info))


def _stat(info: ColumnInfo, means: Sequence[Any]) -> Any:
    if info.derived_from:
        assert info.derive is not None
        return info.derive(*means)
    return means[0]


def paired_levels(
    pairs: pd.DataFrame,
    run_ids: Sequence[str],
    infos: Mapping[str, ColumnInfo],
    levels: Sequence[str],
    baseline: str = BASELINE,
) -> pd.DataFrame:
    """One row per run x metric x level (:data:`PAIRED_COLUMNS`).

    For level L the pairs are those where every input column of the metric is finite at L and
    at ``baseline`` for every run in ``run_ids`` that has the metric there (a run without any
    value of the metric at L or at ``baseline`` gets no row for L, and does not empty the pair
    set of the others); ``value`` is the metric at L on them and ``diff`` the paired difference
    L − baseline (None at the baseline itself). Without the baseline among ``levels`` each
    level stands alone."""
    out: list[dict[str, Any]] = []
    run_ids = list(dict.fromkeys(run_ids))
    if pairs is None or pairs.empty or not run_ids:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    sub = pairs[pairs["run_id"].isin(run_ids)]
    have_baseline = baseline in levels
    for name, info in infos.items():
        cols = _inputs(info)
        if not all(c in sub.columns for c in cols):
            continue
        ok = sub[list(cols)].apply(pd.to_numeric, errors="coerce").notna().all(axis=1)
        valid = sub[ok]
        by_level = {
            lv: {r: f.drop_duplicates("pair_id").set_index("pair_id") for r, f in valid[valid["level"] == lv].groupby("run_id")}
            for lv in dict.fromkeys([*levels, baseline])
        }  # fmt: skip
        for lv in levels:
            if not by_level[lv]:
                continue
            compared = [lv] if (lv == baseline or not have_baseline) else [baseline, lv]
            out.extend(_level_rows(by_level, run_ids, name, info, cols, lv, compared))
    return pd.DataFrame(out, columns=PAIRED_COLUMNS)


def _level_rows(
    by_level: Mapping[str, Mapping[str, pd.DataFrame]],
    run_ids: Sequence[str],
    name: str,
    info: ColumnInfo,
    cols: tuple[str, ...],
    lv: str,
    compared: Sequence[str],
) -> list[dict[str, Any]]:
    # the runs that have the metric at every compared level; a run without it gets no row (the
    # table shows "—") instead of emptying the pair set of every other run
    run_ids = [r for r in run_ids if all(by_level[c].get(r) is not None for c in compared)]
    if not run_ids:
        return []
    support: set[str] | None = None
    for r in run_ids:
        for c in compared:
            f = by_level[c].get(r)
            got = set() if f is None else set(f.index.astype(str))
            support = got if support is None else support & got
    pairs_s = sorted(support or ())
    row0 = {"metric": name, "level": lv, "baseline": compared[0] if len(compared) == 2 else None,
            "n_pairs": len(pairs_s)}  # fmt: skip
    if not pairs_s:
        return [row0 | {"run_id": r, "n_images": 0, "value": None, "ci_low": None, "ci_high": None, "diff": None,
                        "diff_low": None, "diff_high": None} for r in run_ids]  # fmt: skip
    images = by_level[lv][run_ids[0]].loc[pairs_s, "image_key"].astype(str).to_numpy()
    uniq, inv = np.unique(images, return_inverse=True)
    g = len(uniq)
    cnt = np.bincount(inv, minlength=g).astype(float)
    w = bootstrap_weights(g) if g >= 2 else None

    def arrays(run: str, level: str) -> list[np.ndarray]:
        f = by_level[level][run]
        return [f.loc[pairs_s, c].astype(float).to_numpy() for c in cols]

    def interval(stat_of: Any) -> tuple[float, float]:
        """95% percentile interval of ``stat_of(list of per-replicate means per array)``."""
        return tuple(float(x) for x in np.percentile(np.asarray(stat_of, float), [2.5, 97.5]))  # type: ignore[return-value]

    def boot(arrs: list[np.ndarray]) -> list[np.ndarray]:
        assert w is not None
        denom = w @ cnt
        return [(w @ np.bincount(inv, weights=a, minlength=g)) / denom for a in arrs]

    out = []
    for r in run_ids:
        at = arrays(r, lv)
        value = float(_stat(info, [a.mean() for a in at]))
        lo = hi = value
        diff = dlo = dhi = None
        bt = boot(at) if w is not None else None
        if bt is not None:
            lo, hi = interval(_stat(info, bt))
        if len(compared) == 2:
            base = arrays(r, compared[0])
            diff = value - float(_stat(info, [a.mean() for a in base]))
            dlo = dhi = diff
            if bt is not None:
                dlo, dhi = interval(
                    np.asarray(_stat(info, bt), float) - np.asarray(_stat(info, boot(base)), float)
                )
        out.append(row0 | {"run_id": r, "n_images": g, "value": value, "ci_low": lo, "ci_high": hi, "diff": diff,
                           "diff_low": dlo, "diff_high": dhi})  # fmt: skip
    return out
