"""Colourfulness (docs/protocol.md#colourfulness), Hasler & Suesstrunk 2003 with absolute opponents.

R, G, B are the true red, green and blue channels as floats in [0, 255]. Per pixel
rg = |R - G| and yb = |(R + G) / 2 - B|;
CF = sqrt(sd_rg^2 + sd_yb^2) + 0.3 * sqrt(mean_rg^2 + mean_yb^2), with population statistics.

Reported: mean CF(pred) ``cf_pred``, mean CF(GT) ``cf_gt``; ``delta_cf`` = |cf_pred - cf_gt| (the
DDColor/MultiColor convention); ``mean_abs_delta_cf`` = mean |CF_pred - CF_gt| per pair;
``cf_bias`` = mean (CF_pred - CF_gt). Per pair: ``cf_pred``, ``cf_gt``, ``cf_delta`` (signed) and
``cf_abs_delta`` (the value column: its mean over pairs is ``mean_abs_delta_cf``, lower is better).
Note ``delta_cf`` = |``cf_bias``|, so per-pair means of these columns give every aggregate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lcad_bench.metrics.base import ColumnInfo, MetricBatch, MetricInfo, PerSampleMetric

CF_INFO = MetricInfo(
    name="colourfulness",
    description="Colourfulness (Hasler & Süsstrunk, absolute opponents) of outputs and GTs, and their gap.",
    kind="per_sample",
    backend="numpy-float64",
    columns=(
        ColumnInfo("cf_abs_delta", "mean |ΔCF|", "Mean over pairs of |CF(pred) − CF(GT)|.", False, 2, (0.0, None)),
        ColumnInfo("cf_pred", "CF", "Mean colourfulness of the outputs; information only.", None, 2, (0.0, None)),
        ColumnInfo("cf_gt", "CF (GT)", "Mean colourfulness of the ground truths; information only.", None, 2, (0.0, None)),
        ColumnInfo("cf_delta", "CF bias", "Mean of CF(pred) − CF(GT); information only.", None, 2),
        ColumnInfo("delta_cf", "ΔCF", "|mean CF(pred) − mean CF(GT)| (DDColor / MultiColor convention).",
                   False, 2, (0.0, None), headline=True, derived_from=("cf_pred", "cf_gt"),
                   derive=lambda pred, gt: abs(pred - gt)),
    ),
)  # fmt: skip


def colourfulness(images: np.ndarray) -> np.ndarray:
    """CF of each RGB image of an N x H x W x 3 (or a single H x W x 3) array, float64."""
    a = np.asarray(images, dtype=np.float64)
    single = a.ndim == 3
    if single:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"colourfulness expects N x H x W x 3 RGB images, got shape {a.shape}")
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    rg = np.abs(r - g).reshape(a.shape[0], -1)
    yb = np.abs(0.5 * (r + g) - b).reshape(a.shape[0], -1)
    std = np.sqrt(rg.var(axis=1) + yb.var(axis=1))
    mean = np.sqrt(rg.mean(axis=1) ** 2 + yb.mean(axis=1) ** 2)
    cf = std + 0.3 * mean
    return cf[0:1] if single else cf


class Colourfulness(PerSampleMetric):
    """Per-pair CF of prediction and GT; summaries ``delta_cf``, ``mean_abs_delta_cf``, ``cf_bias``."""

    info = CF_INFO

    def score(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Per-sample ``cf_pred``, ``cf_gt``, signed ``cf_delta`` and ``cf_abs_delta``."""
        cp, cg = colourfulness(batch.pred), colourfulness(batch.gt)
        d = cp - cg
        return [
            {"key": k, "cf_pred": float(a), "cf_gt": float(b), "cf_delta": float(c), "cf_abs_delta": float(abs(c))}
            for k, a, b, c in zip(batch.keys, cp, cg, d)
        ]  # fmt: skip

    def summarize(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Means of CF and the three difference summaries."""
        n = len(rows)

        def mean(col: str) -> float | None:
            return float(np.mean([r[col] for r in rows])) if n else None

        cp, cg = mean("cf_pred"), mean("cf_gt")
        return {
            "cf_pred": cp, "cf_gt": cg, "delta_cf": None if cp is None or cg is None else abs(cp - cg),
            "mean_abs_delta_cf": mean("cf_abs_delta"), "cf_bias": mean("cf_delta"), "n": n,
        }  # fmt: skip
