"""A small metric suite for runner tests (PSNR and mean output, numpy only)."""

from __future__ import annotations

import numpy as np

from lcad_bench.evaluation.suite import MetricSuite


class SimpleSuite(MetricSuite):
    names = ["psnr_np", "mean_out"]
    distribution_names = ["count"]

    def __init__(self):
        self.skipped = {}
        self.n = {}

    def per_sample(self, items, preds, gts, preps):
        out = []
        for p, g in zip(preds, gts):
            mse = np.mean((p.astype(np.float64) - g.astype(np.float64)) ** 2)
            out.append(
                {
                    "psnr_np": 100.0 if mse == 0 else 10 * np.log10(255**2 / mse),
                    "mean_out": float(p.mean()),
                }
            )
        return out

    def update_distribution(self, level, preds, gts):
        self.n[level] = self.n.get(level, 0) + len(preds)

    def compute_distribution(self):
        return {lv: {"count": {"value": float(n)}} for lv, n in self.n.items()}

    def metadata(self):
        return {"psnr_np": {"backend": "numpy"}, "mean_out": {"backend": "numpy"}}
