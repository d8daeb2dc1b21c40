"""PSNR and SSIM against scikit-image (and torchmetrics) golden values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr

from lcad_bench.metrics import MetricBatch, get_metric
from lcad_bench.metrics.psnr import PSNR_CAP_DB, psnr_per_pair
from lcad_bench.metrics.ssim import ssim_gaussian_per_pair


def _pairs(n: int = 5, h: int = 40, w: int = 52, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    # smooth structure plus noise of growing strength, so values spread
    yy, xx = np.mgrid[0:h, 0:w]
    gt[..., 1] = ((np.sin(xx / 5.0) + 1) * 120).astype(np.uint8)
    noise = rng.normal(0, 1, gt.shape) * np.arange(1, n + 1)[:, None, None, None] * 8
    pred = np.clip(gt.astype(np.float64) + noise, 0, 255).round().astype(np.uint8)
    return pred, gt


def _batch(pred: np.ndarray, gt: np.ndarray) -> MetricBatch:
    return MetricBatch([f"s{i}" for i in range(len(pred))], pred, gt)


def test_psnr_matches_skimage_and_torchmetrics():
    pred, gt = _pairs()
    rows = get_metric("psnr").update(_batch(pred, gt))
    ours = np.array([r["psnr"] for r in rows])
    ref = np.array([peak_signal_noise_ratio(g, p, data_range=255) for p, g in zip(pred, gt)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
    t = lambda x: torch.from_numpy(x.astype(np.float64)).permute(0, 3, 1, 2)  # noqa: E731
    tm = tm_psnr(t(pred), t(gt), data_range=255.0, reduction="none", dim=(1, 2, 3)).numpy()
    # torchmetrics evaluates log(10) and log(data_range) in float32: relative error ~4e-8
    np.testing.assert_allclose(ours, tm, rtol=1e-7, atol=0)


def test_psnr_perfect_pair_capped_and_counted():
    pred, gt = _pairs(3)
    pred[1] = gt[1]
    m = get_metric("psnr")
    rows = m.update(_batch(pred, gt))
    assert rows[1]["psnr"] == PSNR_CAP_DB and rows[1]["psnr_capped"] is True
    assert not rows[0]["psnr_capped"]
    res = m.compute()
    assert res["n"] == 3 and res["n_capped"] == 1
    assert res["psnr"] == pytest.approx(np.mean([r["psnr"] for r in rows]), abs=1e-12)


def test_psnr_hand_value():
    gt = np.zeros((1, 2, 2, 3), np.uint8)
    pred = gt.copy()
    pred[0, 0, 0, 0] = 12  # MSE = 144 / 12 = 12
    val, capped = psnr_per_pair(pred, gt)
    assert val[0] == pytest.approx(10 * np.log10(255**2 / 12.0), abs=1e-12) and not capped[0]


def test_ssim_matches_skimage_protocol_settings():
    pred, gt = _pairs()
    rows = get_metric("ssim").update(_batch(pred, gt))
    ours = np.array([r["ssim"] for r in rows])
    ref = np.array([
        structural_similarity(p, g, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1)
        for p, g in zip(pred, gt)
    ])  # fmt: skip
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
    assert np.abs(ours - ref).max() < 1e-10  # float64 end to end
    assert len(set(np.round(ours, 3))) == len(ours)  # the fixture spreads values


def test_ssim_uniform7_matches_skimage_defaults():
    pred, gt = _pairs(3)
    rows = get_metric("ssim_uniform7").update(_batch(pred, gt))
    ref = [
        structural_similarity(p.astype(float), g.astype(float), data_range=255, channel_axis=-1)
        for p, g in zip(pred, gt)
    ]
    np.testing.assert_allclose([r["ssim_uniform7"] for r in rows], ref, atol=1e-12)


def test_ssim_suspect_flag_and_identity():
    pred, gt = _pairs(4)
    pred[:3] = gt[:3]
    m = get_metric("ssim")
    rows = m.update(_batch(pred, gt))
    assert [r["ssim"] for r in rows[:3]] == pytest.approx([1.0] * 3, abs=1e-12)
    res = m.compute()
    assert res["ssim_suspect"] and res["warnings"] == ["ssim_suspect"]
    m.reset()
    m.update(_batch(*_pairs(4)))
    assert not m.compute()["ssim_suspect"]


def test_ssim_rejects_images_smaller_than_window():
    pred, gt = _pairs(1, 8, 8)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim_gaussian_per_pair(pred, gt)


@pytest.mark.parametrize("name", ["psnr", "ssim", "colourfulness"])
def test_batch_size_one_equals_batch_n(name):
    pred, gt = _pairs(6)
    whole = get_metric(name)
    rows_n = whole.update(_batch(pred, gt))
    single = get_metric(name)
    rows_1 = []
    for i in range(len(pred)):
        rows_1 += single.update(MetricBatch([f"s{i}"], pred[i : i + 1], gt[i : i + 1]))
    assert rows_1 == rows_n
    a, b = whole.compute(), single.compute()
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float):
            assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-12)
        else:
            assert a[k] == b[k]


def test_batch_validation():
    pred, gt = _pairs(2)
    with pytest.raises(ValueError, match="uint8"):
        MetricBatch(["a", "b"], pred.astype(np.float32), gt)
    with pytest.raises(ValueError, match="keys"):
        MetricBatch(["a"], pred, gt)
    with pytest.raises(ValueError, match="differ"):
        MetricBatch(["a", "b"], pred[:, :10], gt)


def test_ssim_equals_torchmetrics_cropped_map():
    from lcad_bench.metrics.ssim import ssim_gaussian_per_pair, ssim_torchmetrics_per_pair

    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (3, 40, 36, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    assert np.allclose(
        ssim_gaussian_per_pair(a, b), ssim_torchmetrics_per_pair(a, b), atol=1e-10, rtol=0
    )
