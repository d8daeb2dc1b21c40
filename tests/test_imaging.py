"""Protocol preprocessing: geometry, L*, gray rendering (against scikit-image)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage.color import lab2rgb, rgb2lab

from lcad_bench.imaging import (
    Geometry,
    luminance_and_gray,
    mask_to_eval_geometry,
    srgb_to_lab,
    to_eval_geometry,
)


def test_luminance_and_gray_match_scikit_image():
    rgb = np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    L, gray = luminance_and_gray(rgb)
    ref_L = rgb2lab(rgb)[..., 0]
    assert np.abs(L - ref_L).max() < 1e-3  # skimage's matrix has more digits: ~1e-4
    ref_gray = np.rint(lab2rgb(np.stack([ref_L, 0 * ref_L, 0 * ref_L], -1)) * 255)
    assert np.abs(gray.astype(int) - ref_gray[..., :3]).max() <= 1
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    assert np.allclose(L, srgb_to_lab(rgb)[..., 0], atol=1e-9)
    # white, black and sRGB 0.5 gray (L* 53.39)
    L3, g3 = luminance_and_gray(np.array([[[255, 255, 255], [0, 0, 0], [128, 128, 128]]], np.uint8))
    assert np.allclose(L3[0], [100.0, 0.0, 53.585], atol=1e-2) and g3[0, :, 0].tolist() == [
        255,
        0,
        128,
    ]


def test_luminance_and_gray_equal_the_textbook_formulas_bit_for_bit():
    """The in-place implementation gives exactly the textbook piecewise sRGB -> Y -> L* and
    Y -> sRGB gray (both branches of each piecewise function exercised: the dark corner of the
    cube is enumerated, the rest sampled)."""
    rng = np.random.default_rng(3)
    dark = np.stack(np.meshgrid(*[np.arange(12)] * 3, indexing="ij"), -1).reshape(-1, 3)
    rgb = np.concatenate([dark, rng.integers(0, 256, (200_000, 3))]).astype(np.uint8)[None]
    c = rgb.astype(np.float64) / 255.0
    lin = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    y = lin[..., 0] * 0.212671 + lin[..., 1] * 0.715160 + lin[..., 2] * 0.072169
    ref_L = np.where(y > 0.008856, 116.0 * np.cbrt(y) - 16.0, 903.3 * y).astype(np.float32)
    enc = np.where(y > 0.0031308, 1.055 * y ** (1 / 2.4) - 0.055, 12.92 * y)
    ref_g = np.clip(np.rint(enc * 255.0), 0, 255).astype(np.uint8)
    L, gray = luminance_and_gray(rgb)
    assert (y <= 0.0031308).sum() > 100 and (y > 0.008856).sum() > 100_000
    assert np.array_equal(L, ref_L)
    assert np.array_equal(gray, np.repeat(ref_g[..., None], 3, -1))
    assert not np.shares_memory(gray[..., 0], gray[..., 1]) and gray.flags.c_contiguous


def test_short_side_centre_crop():
    img = Image.fromarray(np.random.default_rng(1).integers(0, 256, (300, 500, 3), dtype=np.uint8))
    g = Geometry(500, 300)
    assert g.resized == (427, 256) and g.crop_box == (85, 0, 341, 256)
    out = to_eval_geometry(img)
    ref = img.resize((427, 256), Image.Resampling.BICUBIC).crop((85, 0, 341, 256))
    assert out.size == (256, 256) and np.array_equal(np.asarray(out), np.asarray(ref))
    m = np.zeros((300, 500), bool)
    m[:, :150] = True  # 150 source px -> 128 resized px, of which 128 - 85 = 43 survive the crop
    em = mask_to_eval_geometry(m)
    assert em.shape == (256, 256) and abs(em.mean() - 43 / 256) < 2 / 256
