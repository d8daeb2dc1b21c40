"""Image geometry and colour maths of the protocol, in one place (docs/protocol.md#geometry).

* ``resize_policy="short_side_center_crop"`` (default): PIL bicubic (antialiased) resize of the
  shorter side to ``size``, then a centre crop at floor((W-size)/2), floor((H-size)/2).
* ``resize_policy="square_resize"``: bicubic resize to size x size, ignoring the aspect ratio
  (the L-* loaders' convention).
* Masks follow the same geometry with nearest-neighbour resampling.
* CIELab is sRGB (D65) through scikit-image's formulas, written out here in numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from lcad_bench.protocol import (
    ACHROMATIC_P99,
    EVAL_RESOLUTION,
    RESIZE_POLICIES,
    RESIZE_POLICY,
    TINT_MIN_CHROMA,
    TINT_P99,
    TINT_RESULTANT,
)


@dataclass(frozen=True, slots=True)
class Geometry:
    """How an image of (width, height) maps to the evaluation square."""

    width: int
    height: int
    size: int = EVAL_RESOLUTION
    policy: str = RESIZE_POLICY

    def __post_init__(self) -> None:
        if self.policy not in RESIZE_POLICIES:
            raise ValueError(f"unknown resize policy {self.policy!r}; use one of {RESIZE_POLICIES}")

    @property
    def resized(self) -> tuple[int, int]:
        """(w, h) after the resize step."""
        if self.policy == "square_resize":
            return (self.size, self.size)
        s = self.size / min(self.width, self.height)
        return (max(self.size, round(self.width * s)), max(self.size, round(self.height * s)))

    @property
    def crop_box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the crop in resized coordinates."""
        w, h = self.resized
        left, top = (w - self.size) // 2, (h - self.size) // 2
        return (left, top, left + self.size, top + self.size)


def to_eval_geometry(
    img: Image.Image, size: int = EVAL_RESOLUTION, policy: str = RESIZE_POLICY
) -> Image.Image:
    """An RGB image resized and cropped to ``size`` x ``size`` (bicubic, antialiased)."""
    if img.size == (size, size):
        return img  # already at the evaluation geometry: resizing to the same size is identity
    g = Geometry(img.width, img.height, size, policy)
    out = img.resize(g.resized, Image.Resampling.BICUBIC, reducing_gap=None)
    return out.crop(g.crop_box) if policy == RESIZE_POLICY else out


def mask_to_eval_geometry(
    mask: np.ndarray, size: int = EVAL_RESOLUTION, policy: str = RESIZE_POLICY
) -> np.ndarray:
    """A boolean H x W mask through the same geometry (nearest neighbour)."""
    h, w = mask.shape
    g = Geometry(w, h, size, policy)
    im = Image.fromarray(mask.astype(np.uint8) * 255).resize(g.resized, Image.Resampling.NEAREST)
    if policy == RESIZE_POLICY:
        im = im.crop(g.crop_box)
    return np.asarray(im) > 127


def mask_kept_fraction(
    mask: np.ndarray, size: int = EVAL_RESOLUTION, policy: str = RESIZE_POLICY
) -> float:
    """Share of a mask's area that survives the crop (1.0 for square_resize)."""
    total = mask.sum()
    if total == 0:
        return 0.0
    h, w = mask.shape
    g = Geometry(w, h, size, policy)
    if policy == "square_resize":
        return 1.0
    sx, sy = g.resized[0] / w, g.resized[1] / h
    left, top, right, bottom = g.crop_box
    x0, x1 = math.floor(left / sx), math.ceil(right / sx)
    y0, y1 = math.floor(top / sy), math.ceil(bottom / sy)
    return float(mask[y0:y1, x0:x1].sum() / total)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELab (D65, 2 degrees) of uint8 or [0,1] float sRGB, shape (..., 3), float64."""
    a = np.asarray(rgb)
    x = a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)
    lin = np.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)
    m = np.array(
        [
            [0.412453, 0.357580, 0.180423],
            [0.212671, 0.715160, 0.072169],
            [0.019334, 0.119193, 0.950227],
        ]
    )
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    L = np.where(xyz[..., 1] > 0.008856, 116.0 * np.cbrt(xyz[..., 1]) - 16.0, 903.3 * xyz[..., 1])
    return np.stack([L, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], axis=-1)


# Saturation test at evaluation geometry (docs/protocol.md#extended-coco-stuff).


@dataclass(frozen=True, slots=True)
class SaturationTest:
    """Chroma statistics of an image and the verdict of the protocol's saturation test."""

    chroma_p99: float
    hue_resultant: float
    verdict: str  # "colour" | "achromatic" | "tinted_review"


def saturation_test(rgb_eval: np.ndarray) -> SaturationTest:
    """Classify a uint8 RGB image (already at evaluation geometry)."""
    lab = srgb_to_lab(rgb_eval)
    c = np.hypot(lab[..., 1], lab[..., 2])
    p99 = float(np.percentile(c, 99))
    sel = c >= TINT_MIN_CHROMA
    if sel.any():
        h = np.arctan2(lab[..., 2][sel], lab[..., 1][sel])
        r = float(np.hypot(np.cos(h).mean(), np.sin(h).mean()))
    else:
        r = 0.0
    if p99 < ACHROMATIC_P99:
        verdict = "achromatic"
    elif r >= TINT_RESULTANT and p99 < TINT_P99:
        verdict = "tinted_review"
    else:
        verdict = "colour"
    return SaturationTest(p99, r, verdict)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """Linear-light RGB of CIELab (not clipped: values outside [0, 1] are out of gamut)."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / 7.787) * np.array(
        [0.95047, 1.0, 1.08883]
    )
    m = np.array(
        [
            [0.412453, 0.357580, 0.180423],
            [0.212671, 0.715160, 0.072169],
            [0.019334, 0.119193, 0.950227],
        ]
    )
    return xyz @ np.linalg.inv(m).T


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """Inverse of :func:`srgb_to_lab`: float64 sRGB in [0, 1] (clipped), shape (..., 3)."""
    lin = np.clip(lab_to_linear(lab), 0.0, None)
    rgb = np.where(lin > 0.0031308, 1.055 * lin ** (1 / 2.4) - 0.055, 12.92 * lin)
    return np.clip(rgb, 0.0, 1.0)


def to_uint8(rgb01: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8 with rounding (the protocol rounds; it never truncates)."""
    return np.clip(np.rint(np.asarray(rgb01) * 255.0), 0, 255).astype(np.uint8)


_SRGB_TO_LINEAR = np.where(
    np.arange(256) / 255.0 > 0.04045,
    ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4,
    np.arange(256) / 255.0 / 12.92,
)
_Y_ROW = np.array([0.212671, 0.715160, 0.072169])
_Y_LUT = [_SRGB_TO_LINEAR * c for c in _Y_ROW]  # per-channel contribution to Y


def luminance_and_gray(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model inputs of a uint8 RGB ground truth: L* (float32, [0, 100]) and the uint8 gray
    rendering of (L*, 0, 0).

    Same formulas as :func:`srgb_to_lab` / :func:`lab_to_srgb`, specialised: L* depends on the
    relative luminance Y only (a 256-entry linearisation table), and (L*, 0, 0) is the D65 white
    scaled by Y, i.e. linear R = G = B = Y (to 1e-5), so the gray level is the sRGB encoding of Y."""
    a = np.asarray(rgb)
    if a.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB, got {a.dtype}")
    y = _Y_LUT[0][a[..., 0]] + _Y_LUT[1][a[..., 1]] + _Y_LUT[2][a[..., 2]]
    L = np.where(y > 0.008856, 116.0 * np.cbrt(y) - 16.0, 903.3 * y)
    enc = np.where(y > 0.0031308, 1.055 * np.clip(y, 0, None) ** (1 / 2.4) - 0.055, 12.92 * y)
    g = np.clip(np.rint(enc * 255.0), 0, 255).astype(np.uint8)
    return L.astype(np.float32), np.repeat(g[..., None], 3, axis=-1)
