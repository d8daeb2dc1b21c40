"""SSIM (docs/protocol.md#ssim): Wang et al. on RGB in [0, 255], 11 x 11 Gaussian window with
sigma 1.5, K1 0.01, K2 0.03, population covariance, averaged over channels and then pairs, i.e.
scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255, channel_axis=-1)``.

Backend: the SSIM map of torchmetrics computed with separable float64 Gaussian filters (scipy),
cropped; ``ssim_torchmetrics_per_pair`` computes it through torchmetrics itself and the tests hold
the two (and scikit-image) together. torchmetrics' own reduction averages the
whole map, including a 5-pixel border computed on reflect-padded pixels, whereas scikit-image
discards that border (``crop(S, (win_size - 1) // 2)``); on 64 x 48 noise images the two differ by
about 1e-4. We take torchmetrics' full SSIM map (``return_full_image=True``) and crop the border,
which matches scikit-image to float rounding (the golden test checks 1e-5, seen ~1e-12): border
pixels are the only ones that depend on the padding mode.

The ``uniform7`` variant (``ssim_uniform7``: the 7 x 7 window of L-CoIns and CT2, which call
scikit-image with its defaults: uniform window, sample covariance) uses scikit-image directly.

SSIM above 0.99 on more than half of the pairs flags ``ssim_suspect`` (L compared with L, or a
wrong data range).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from lcad_bench.metrics.base import ColumnInfo, MetricBatch, MetricInfo, PerSampleMetric

SUSPECT_VALUE = 0.99
SUSPECT_SHARE = 0.5
GAUSS_SIGMA = 1.5
GAUSS_WIN = 2 * int(3.5 * GAUSS_SIGMA + 0.5) + 1  # 11, scikit-image's truncate=3.5 rule

SSIM_INFO = MetricInfo(
    name="ssim",
    description="Structural similarity to the ground truth (RGB, 11x11 Gaussian window, sigma 1.5).",
    kind="per_sample",
    backend="ssim-map-float64-separable-gaussian-cropped (= scikit-image, torchmetrics map)",
    columns=(
        ColumnInfo("ssim", "SSIM", "SSIM to the GT: RGB, 11x11 Gaussian window, sigma 1.5, data range 255.",
                   True, 4, (-1.0, 1.0), headline=True),
    ),
)  # fmt: skip

SSIM_UNIFORM7_INFO = MetricInfo(
    name="ssim_uniform7",
    description="SSIM with scikit-image defaults (7x7 uniform window, sample covariance), as L-CoIns and CT2.",
    kind="per_sample",
    backend="scikit-image",
    columns=(
        ColumnInfo("ssim_uniform7", "SSIM (7x7 uniform)",
                   "SSIM with the uniform 7x7 window and sample covariance of L-CoIns / CT2.", True, 4, (-1.0, 1.0)),
    ),
)  # fmt: skip


def gaussian_kernel_1d(size: int = GAUSS_WIN, sigma: float = GAUSS_SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian of torchmetrics and scikit-image (float64)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-(x**2) / (2.0 * sigma**2))
    return k / k.sum()


def ssim_gaussian_per_pair(
    pred: np.ndarray, gt: np.ndarray, data_range: float = 255.0
) -> np.ndarray:
    """Protocol SSIM of each pair of N x H x W x 3 arrays, in float64.

    The Gaussian window is separable, so the local means and (population) moments are two 1-D
    correlations per axis (scipy, float64) instead of torchmetrics' 11 x 11 float64 ``conv2d``,
    which runs on PyTorch's slow double-precision CPU path (~0.6 s per 256 x 256 pair, 30x
    slower). The maths is torchmetrics' SSIM map, cropped like scikit-image; the tests check both
    scikit-image (1e-5) and torchmetrics' cropped map."""
    from scipy.ndimage import correlate1d

    if min(pred.shape[1:3]) < GAUSS_WIN:
        raise ValueError(
            f"SSIM needs images of at least {GAUSS_WIN}x{GAUSS_WIN} pixels, got {pred.shape[1:3]}"
        )
    k = gaussian_kernel_1d()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    pad = (GAUSS_WIN - 1) // 2

    def blur(a: np.ndarray) -> np.ndarray:
        return correlate1d(correlate1d(a, k, axis=0, mode="reflect"), k, axis=1, mode="reflect")

    def one(p: np.ndarray, g: np.ndarray) -> float:
        # one pair at a time: a dozen float64 maps of one image (~20 MB at 256 x 256), not of
        # a whole batch (the same numbers: every filter and product is per pixel and channel)
        x = np.asarray(p, dtype=np.float64)
        y = np.asarray(g, dtype=np.float64)
        ux, uy = blur(x), blur(y)
        vx = blur(x * x) - ux * ux
        vy = blur(y * y) - uy * uy
        vxy = blur(x * y) - ux * uy
        smap = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
        return float(smap[pad:-pad, pad:-pad, :].mean())

    return np.array([one(p, g) for p, g in zip(pred, gt)], dtype=np.float64)


def ssim_torchmetrics_per_pair(
    pred: np.ndarray, gt: np.ndarray, data_range: float = 255.0
) -> np.ndarray:
    """The same quantity from torchmetrics' float64 SSIM map, cropped (cross-check in tests)."""
    import torch
    from torchmetrics.functional.image import structural_similarity_index_measure

    p = torch.from_numpy(np.asarray(pred, dtype=np.float64)).permute(0, 3, 1, 2)
    g = torch.from_numpy(np.asarray(gt, dtype=np.float64)).permute(0, 3, 1, 2)
    _, full = structural_similarity_index_measure(
        p, g, gaussian_kernel=True, sigma=GAUSS_SIGMA, kernel_size=GAUSS_WIN, data_range=data_range,
        k1=0.01, k2=0.03, reduction="none", return_full_image=True,
    )  # fmt: skip
    pad = (GAUSS_WIN - 1) // 2
    crop = full[..., pad:-pad, pad:-pad]
    return crop.reshape(crop.shape[0], -1).mean(dim=1).numpy().astype(np.float64)


def ssim_uniform7_per_pair(
    pred: np.ndarray, gt: np.ndarray, data_range: float = 255.0
) -> np.ndarray:
    """SSIM with scikit-image defaults (7 x 7 uniform window, sample covariance) per pair."""
    from skimage.metrics import structural_similarity

    return np.array(
        [
            structural_similarity(
                np.asarray(p, dtype=np.float64),
                np.asarray(g, dtype=np.float64),
                win_size=7,
                data_range=data_range,
                channel_axis=-1,
            )  # fmt: skip
            for p, g in zip(pred, gt)
        ],
        dtype=np.float64,
    )


class SSIM(PerSampleMetric):
    """Per-pair SSIM; the summary carries the ``ssim_suspect`` check."""

    def __init__(self, variant: Literal["gaussian11", "uniform7"] = "gaussian11") -> None:
        if variant not in ("gaussian11", "uniform7"):
            raise ValueError(f"unknown SSIM variant {variant!r}: use 'gaussian11' or 'uniform7'")
        self.variant = variant
        self.info = SSIM_INFO if variant == "gaussian11" else SSIM_UNIFORM7_INFO
        super().__init__()

    def score(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Per-sample SSIM rows."""
        fn = ssim_gaussian_per_pair if self.variant == "gaussian11" else ssim_uniform7_per_pair
        vals = fn(batch.pred, batch.gt)
        col = self.info.value_column
        return [{"key": k, col: float(v)} for k, v in zip(batch.keys, vals)]

    def summarize(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Mean SSIM, n, and the ``ssim_suspect`` flag (SSIM > 0.99 on more than half the pairs)."""
        base = super().summarize(rows)
        col = self.info.value_column
        n_high = sum(1 for r in rows if isinstance(r.get(col), float) and r[col] > SUSPECT_VALUE)
        suspect = bool(base["n"] and n_high / base["n"] > SUSPECT_SHARE)
        return base | {
            "n_above_0.99": n_high, "ssim_suspect": suspect, "warnings": ["ssim_suspect"] if suspect else [],
        }  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """Info plus the variant."""
        return self.info.to_dict() | {"variant": self.variant}
