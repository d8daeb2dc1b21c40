"""PSNR (docs/protocol.md#psnr): RGB in [0, 255], MSE over all pixels and the 3 channels, per pair,
in float64, then averaged. A perfect pair (MSE 0) is capped at 100 dB and counted.

Backend: numpy float64. torchmetrics' ``peak_signal_noise_ratio`` gives the same value within
1e-6 dB (it evaluates ``log(10)`` and ``log(data_range)`` in float32); the golden tests compare
both it and scikit-image's ``peak_signal_noise_ratio(data_range=255)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lcad_bench.metrics.base import ColumnInfo, MetricBatch, MetricInfo, PerSampleMetric

PSNR_CAP_DB = 100.0

PSNR_INFO = MetricInfo(
    name="psnr",
    description="Peak signal-to-noise ratio to the ground truth, RGB, data range 255 (dB).",
    kind="per_sample",
    backend="numpy-float64",
    columns=(
        ColumnInfo("psnr", "PSNR", "Peak signal-to-noise ratio to the GT on RGB [0,255], dB; MSE 0 capped at 100 dB.",
                   True, 2, (0.0, PSNR_CAP_DB), headline=True),
        ColumnInfo("psnr_capped", "PSNR capped", "The pair's MSE was 0, so its PSNR was set to the 100 dB cap.",
                   None, 0, dtype="bool", aggregate=False),
    ),
)  # fmt: skip


def psnr_per_pair(
    pred: np.ndarray, gt: np.ndarray, data_range: float = 255.0, cap: float = PSNR_CAP_DB
) -> tuple[np.ndarray, np.ndarray]:
    """PSNR of each pair of N x H x W x C arrays, and whether it was capped.

    Values above ``cap`` (MSE 0 gives +inf) are set to ``cap``: a perfect pair never scores below
    a near-perfect one."""
    # one pair at a time (flat memory whatever the batch size; the same numbers)
    mse = np.array(
        [((np.asarray(p, np.float64) - np.asarray(g, np.float64)) ** 2).mean() for p, g in zip(pred, gt)],
        dtype=np.float64,
    )  # fmt: skip
    with np.errstate(divide="ignore"):
        val = 10.0 * np.log10((data_range * data_range) / mse)
    capped = val > cap
    return np.where(capped, cap, val), capped


class PSNR(PerSampleMetric):
    """Per-pair PSNR; the summary counts pairs at the 100 dB cap."""

    info = PSNR_INFO

    def score(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Per-sample ``psnr`` and ``psnr_capped``."""
        vals, capped = psnr_per_pair(batch.pred, batch.gt)
        return [
            {"key": k, "psnr": float(v), "psnr_capped": bool(c)}
            for k, v, c in zip(batch.keys, vals, capped)
        ]

    def summarize(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Mean PSNR, n and the number of capped pairs."""
        n_capped = sum(1 for r in rows if r.get("psnr_capped"))
        return super().summarize(rows) | {"n_capped": n_capped, "cap_db": PSNR_CAP_DB}
