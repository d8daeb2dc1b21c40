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
