"""Aggregation (docs/protocol.md#aggregation-and-results).

Per level x metric column: the mean over pairs (seeds averaged per pair first), a 95% percentile
bootstrap interval that resamples *images* (pairs sharing a ground truth are correlated; B and
the seed come from :mod:`lcad_bench.protocol`), n_pairs, n_images, n_failed and n_nonfinite (samples
whose value was NaN or inf: left out of the mean, counted, and named in the run's warnings,
never dropped silently). A derived column
(ΔCF) is a function of the per-level means of its inputs; its interval applies the function to
the same bootstrap resamples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lcad_bench.evaluation.rundir import Cell, level_rows
from lcad_bench.metrics.base import ColumnInfo, is_number
from lcad_bench.protocol import BOOTSTRAP_B, BOOTSTRAP_SEED

BOOTSTRAP_BLOCK = 1 << 19  # resample draws (b x groups) held at once by bootstrap_stat


def bootstrap_ci(
    values: np.ndarray, groups: np.ndarray, b: int = BOOTSTRAP_B, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95% percentile interval of the mean, resampling groups (images) with replacement."""
    lo, hi = bootstrap_stat([values], groups, lambda m: m[0], b, seed)
    return lo, hi


def bootstrap_stat(
    columns: Sequence[np.ndarray],
    groups: np.ndarray,
    stat: Callable[[list[Any]], Any],
    b: int = BOOTSTRAP_B,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """95% percentile interval of ``stat(means of columns)``, resampling groups with replacement
    (all columns share the resamples). ``stat`` must work elementwise on arrays of means."""
    uniq, inv = np.unique(groups, return_inverse=True)
    g = len(uniq)
    if g < 2:
        v = float(stat([float(c.mean()) for c in columns]))
        return v, v
    cnts = np.bincount(inv, minlength=g).astype(float)
    sums = [np.bincount(inv, weights=c, minlength=g) for c in columns]
    rng = np.random.default_rng(seed)
    # the b resamples are drawn and reduced a block at a time (a few MB, whatever g is): the
    # generator's stream and each resample's sums are those of one (b, g) draw, so the interval
    # is the same to the bit, with memory flat in the number of groups
    step = max(1, BOOTSTRAP_BLOCK // g)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(columns) + 1)]
    for start in range(0, b, step):
        idx = rng.integers(0, g, size=(min(step, b - start), g))
        parts[0].append(cnts[idx].sum(axis=1))
        for k, sm in enumerate(sums):
            parts[k + 1].append(sm[idx].sum(axis=1))
    denom = np.concatenate(parts[0])
    means = [np.concatenate(p) / denom for p in parts[1:]]
    vals = np.asarray(stat(means), dtype=np.float64)  # stat is applied elementwise to arrays
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def _nonfinite(v: Any) -> bool:
    return isinstance(v, (float, np.floating)) and not bool(np.isfinite(v))


def _per_pair(
    rows: Sequence[dict[str, Any]], col: str
) -> tuple[dict[str, float], dict[str, str], set[int]]:
    """Per pair the mean of ``col`` over its successful samples, the pairs' images, and the
    indices of the rows whose value is NaN or inf (left out, and counted: ``n_nonfinite``)."""
    per: dict[str, list[float]] = defaultdict(list)
    img: dict[str, str] = {}
    dropped: set[int] = set()
    for k, r in enumerate(rows):
        v = r.get(col)
        if r.get("error"):
            continue  # failed samples: counted in n_failed
        if not is_number(v):
            if _nonfinite(v):
                dropped.add(k)
            continue  # a missing value (None: the metric has none for this sample)
        per[r["pair_id"]].append(float(v))
        img[r["pair_id"]] = r["image_key"]
    return {p: float(np.mean(v)) for p, v in per.items()}, img, dropped


def nonfinite_warnings(cells: Sequence[Cell]) -> list[str]:
    """A warning per cell that left out NaN/inf values (for results.json's warnings)."""
    return [
        f"{c.metric} at level {c.level}: {c.n_nonfinite} samples had a NaN/inf value, left out of the "
        "mean (n_nonfinite of the cell); a metric should never return one: check the metric and those outputs"
        for c in cells
        if c.n_nonfinite
    ]


def aggregate(
    rows: Sequence[dict[str, Any]], columns: Sequence[ColumnInfo], levels: Sequence[str]
) -> list[Cell]:
    """Cells from per-sample rows (keys: pair_id, image_key, level, error, <column>...) for
    every aggregated float column and every derived column."""
    cells = []
    for level in levels:
        lrows = level_rows(rows, level)  # lazy for a RowSpool: flat in the number of rows
        if not lrows:
            continue
        failed = sum(1 for r in lrows if r.get("error"))
        for col in columns:
            if col.derived_from:
                cell = _derived_cell(lrows, col, level, failed)
            elif col.dtype == "float" and col.aggregate:
                cell = _mean_cell(lrows, col.name, level, failed)
            else:
                continue
            if cell is not None:
                cells.append(cell)
    return cells


def _mean_cell(lrows: Sequence[dict[str, Any]], name: str, level: str, failed: int) -> Cell | None:
    per_pair, img_of, dropped = _per_pair(lrows, name)
    if not per_pair:
        if all(r.get("error") for r in lrows) or any(name in r for r in lrows):
            return Cell(level=level, metric=name, mean=None, n_pairs=0, n_images=0, n_failed=failed,
                        n_nonfinite=len(dropped))  # fmt: skip
        return None
    pairs = sorted(per_pair)
    vals = np.array([per_pair[p] for p in pairs])
    groups = np.array([img_of[p] for p in pairs])
    lo, hi = bootstrap_ci(vals, groups)
    return Cell(level=level, metric=name, mean=float(vals.mean()), ci_low=lo, ci_high=hi,
                n_pairs=len(pairs), n_images=len(set(groups)), n_failed=failed,
                n_nonfinite=len(dropped))  # fmt: skip


def _derived_cell(
    lrows: Sequence[dict[str, Any]], col: ColumnInfo, level: str, failed: int
) -> Cell | None:
    assert col.derive is not None
    inputs = [_per_pair(lrows, name) for name in col.derived_from]
    common = sorted(set.intersection(*(set(p) for p, _, _ in inputs)))
    if not common:
        return None
    dropped = set().union(*(d for _, _, d in inputs))  # samples with NaN/inf in any input
    groups = np.array([inputs[0][1][p] for p in common])
    arrays = [np.array([per[p] for p in common]) for per, _, _ in inputs]
    derive = col.derive

    def stat(means: list[Any]) -> Any:
        return derive(*means)

    lo, hi = bootstrap_stat(arrays, groups, stat)
    return Cell(level=level, metric=col.name, mean=float(stat([float(a.mean()) for a in arrays])), ci_low=lo,
                ci_high=hi, n_pairs=len(common), n_images=len(set(groups)), n_failed=failed,
                n_nonfinite=len(dropped))  # fmt: skip
