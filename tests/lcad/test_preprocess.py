"""Preprocessing values (lcad-model.md §1.1) and post-processing helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lcad_bench.lcad import preprocess as pp


def _hint_of(rgb01: tuple[float, float, float]) -> float:
    x = torch.tensor(rgb01, dtype=torch.float32).view(1, 3, 1, 1)
    return float(pp.luminance_to_hint(pp.srgb_to_luminance(x))[0, 0, 0, 0])


def test_reference_hint_values():
    assert _hint_of((1.0, 1.0, 1.0)) == pytest.approx(100 / 127.5 - 1, abs=1e-4)
    assert _hint_of((1.0, 1.0, 1.0)) == pytest.approx(-0.21569, abs=1e-4)
    assert _hint_of((0.0, 0.0, 0.0)) == pytest.approx(-1.0, abs=1e-6)
    # hand calculation: ((0.5+0.055)/1.055)^2.4 = 0.21404; L = 116 * 0.21404^(1/3) - 16 = 53.389
    lin = ((0.5 + 0.055) / 1.055) ** 2.4
    lum = 116 * lin ** (1 / 3) - 16
    assert lum == pytest.approx(53.39, abs=0.01)
    assert _hint_of((0.5, 0.5, 0.5)) == pytest.approx(-0.5813, abs=1e-4)
    assert _hint_of((0.5, 0.5, 0.5)) == pytest.approx(lum / 127.5 - 1, abs=1e-5)


def test_dark_linear_branch_and_colour():
    # c <= 0.04045 uses c / 12.92 and t <= 0.008856 uses 7.787 t + 16/116
    c = 0.02
    y = c / 12.92
    want = (116 * (7.787 * y + 16 / 116) - 16) / 127.5 - 1
    assert _hint_of((c, c, c)) == pytest.approx(want, abs=1e-5)
    # pure green: Y = 0.715160
    want_g = (116 * 0.715160 ** (1 / 3) - 16) / 127.5 - 1
    assert _hint_of((0.0, 1.0, 0.0)) == pytest.approx(want_g, abs=1e-5)


def test_image_to_hint_shape_range_and_resize():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(40, 70, 3), dtype=np.uint8)
    img = Image.fromarray(arr)
    hint = pp.image_to_hint(img, 64)
    assert hint.shape == (1, 3, 64, 64)
    assert torch.equal(hint[:, 0], hint[:, 1]) and torch.equal(hint[:, 1], hint[:, 2])
    assert float(hint.min()) >= -1.0 and float(hint.max()) <= -0.21569 + 1e-5
    # the resize is PIL bilinear (= torchvision Resize on PIL images)
    resized = np.asarray(img.resize((64, 64), Image.BILINEAR), dtype=np.float32) / 255
    want = pp.luminance_to_hint(pp.srgb_to_luminance(torch.from_numpy(resized).permute(2, 0, 1)))
    assert torch.equal(hint, want)
    # gray mode and arrays go through the same path
    assert pp.image_to_hint(img.convert("L"), 64).shape == (1, 3, 64, 64)
    assert torch.equal(pp.image_to_hint(arr, 64), hint)


def test_luminance_array_hint_and_truncation():
    lum = np.full((64, 64), 50.0, dtype=np.float32)
    hint = pp.luminance_array_to_hint(lum, 64)
    assert torch.allclose(hint, torch.full((1, 3, 64, 64), 50 / 127.5 - 1))
    rgb = torch.full((1, 3, 2, 2), 0.999)
    assert pp.unit_to_uint8(rgb)[0, 0, 0, 0] == 254  # truncation, not rounding
    assert torch.equal(
        pp.decoded_to_unit(torch.tensor([-2.0, 0.0, 2.0])), torch.tensor([0.0, 0.5, 1.0])
    )


def test_lab_roundtrip_and_l_replacement():
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(1, 3, 8, 8, generator=g, dtype=torch.float64)
    back = pp.lab_to_srgb(pp.srgb_to_lab(rgb))
    assert float((back - rgb).abs().max()) < 1e-4
    target_l = pp.srgb_to_luminance(torch.rand(1, 3, 16, 16, generator=g, dtype=torch.float64))
    out = pp.replace_luminance(rgb.float(), target_l.float())
    assert out.shape == (1, 3, 16, 16)
    got_l = pp.srgb_to_luminance(out.double())
    inside = (out > 0.01).all(1, keepdim=True) & (out < 0.99).all(1, keepdim=True)  # not clipped
    assert float(((got_l - target_l).abs() * inside).max()) < 0.05
