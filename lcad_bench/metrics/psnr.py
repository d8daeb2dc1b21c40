"""PSNR (protocol section 6.1): RGB in [0, 255], MSE over all pixels and the 3 channels, per pair,
in float64, then averaged. A perfect pair (MSE 0) is capped at 100 dB and counted.

Backend: numpy float64. torchmetrics' ``peak_signal_noise_ratio`` gives the same value within
1e-6 dB (it evaluates ``log(10)`` and ``log(data_range)`` in float32); the golden tests compare
both it and scikit-image's ``peak_signal_noise_ratio(data_range=255)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lcad_bench.metrics.base import MeanAccumulator, Metric, MetricBatch, MetricInfo

PSNR_CAP_DB = 100.0

PSNR_INFO = MetricInfo(
    name="psnr",
    display_name="PSNR",
    description="Peak signal-to-noise ratio to the ground truth, RGB, data range 255 (dB).",
    higher_is_better=True,
    range=(0.0, PSNR_CAP_DB),
    kind="per_sample",
    decimals=2,
    backend="numpy-float64",
    extra_columns=("psnr_capped",),
)


def psnr_per_pair(
    pred: np.ndarray, gt: np.ndarray, data_range: float = 255.0, cap: float = PSNR_CAP_DB
) -> tuple[np.ndarray, np.ndarray]:
    """PSNR of each pair of N x H x W x C arrays, and whether it was capped.

    Values above ``cap`` (MSE 0 gives +inf) are set to ``cap``: a perfect pair never scores below
    a near-perfect one."""
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    mse = ((p - g) ** 2).reshape(p.shape[0], -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        val = 10.0 * np.log10((data_range * data_range) / mse)
    capped = val > cap
    return np.where(capped, cap, val), capped


class PSNR(Metric):
    """Per-pair PSNR, averaged; ``n_capped`` counts pairs at the 100 dB cap."""

    info = PSNR_INFO

    def reset(self) -> None:
        """Forget everything."""
        self._acc = MeanAccumulator()
        self._n_capped = 0

    def update(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Per-sample ``psnr`` and ``psnr_capped``."""
        vals, capped = psnr_per_pair(batch.pred, batch.gt)
        self._acc.add(vals)
        self._n_capped += int(capped.sum())
        return [
            {"key": k, "psnr": float(v), "psnr_capped": bool(c)}
            for k, v, c in zip(batch.keys, vals, capped)
        ]

    def compute(self) -> dict[str, Any]:
        """Mean PSNR, n and the number of capped pairs."""
        return {
            "psnr": self._acc.mean,
            "n": self._acc.n,
            "n_capped": self._n_capped,
            "cap_db": PSNR_CAP_DB,
        }
