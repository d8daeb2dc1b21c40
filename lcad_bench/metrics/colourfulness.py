"""Colourfulness (protocol section 6.5), Hasler & Suesstrunk 2003 with absolute opponents.

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

from typing import Any

import numpy as np

from lcad_bench.metrics.base import MeanAccumulator, Metric, MetricBatch, MetricInfo

CF_INFO = MetricInfo(
    name="colourfulness",
    display_name="ΔCF",
    description="Colourfulness (Hasler & Süsstrunk) gap to the GT: per pair |CF(pred) - CF(GT)|; also CF of both.",
    higher_is_better=False,
    range=(0.0, float("inf")),
    kind="per_sample",
    decimals=2,
    backend="numpy-float64",
    column="cf_abs_delta",
    extra_columns=("cf_pred", "cf_gt", "cf_delta"),
)


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


class Colourfulness(Metric):
    """Per-pair CF of prediction and GT; aggregates ``delta_cf``, ``mean_abs_delta_cf``, ``cf_bias``."""

    info = CF_INFO

    def reset(self) -> None:
        """Forget everything."""
        self._pred = MeanAccumulator()
        self._gt = MeanAccumulator()
        self._absd = MeanAccumulator()
        self._d = MeanAccumulator()

    def update(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Per-sample ``cf_pred``, ``cf_gt``, signed ``cf_delta`` and ``cf_abs_delta``."""
        cp, cg = colourfulness(batch.pred), colourfulness(batch.gt)
        d = cp - cg
        self._pred.add(cp)
        self._gt.add(cg)
        self._absd.add(np.abs(d))
        self._d.add(d)
        return [
            {
                "key": k,
                "cf_pred": float(a),
                "cf_gt": float(b),
                "cf_delta": float(c),
                "cf_abs_delta": float(abs(c)),
            }
            for k, a, b, c in zip(batch.keys, cp, cg, d)
        ]

    def compute(self) -> dict[str, Any]:
        """Means of CF and the three difference summaries."""
        cp, cg = self._pred.mean, self._gt.mean
        return {
            "cf_pred": cp, "cf_gt": cg,
            "delta_cf": None if cp is None or cg is None else abs(cp - cg),
            "mean_abs_delta_cf": self._absd.mean, "cf_bias": self._d.mean, "n": self._pred.n,
        }  # fmt: skip
