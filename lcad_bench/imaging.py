"""Image geometry and colour maths of the protocol, in one place (docs/protocol.md#geometry).

* ``resize_policy="short_side_center_crop"`` (default): PIL bicubic (antialiased) resize of the
  shorter side to ``size``, then a centre crop at floor((W-size)/2), floor((H-size)/2).
* ``resize_policy="square_resize"``: bicubic resize to size x size, ignoring the aspect ratio
  (the L-* loaders' convention).
* Masks follow the same geometry with nearest-neighbour resampling.
* CIELab is sRGB (D65) through scikit-image's formulas, written out here in numpy.
* :func:`decode_image` is the one decoder of source images (builders and the runner): it names
  the file and the fix for every image it refuses and scales 16-bit samples to 8 bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from lcad_bench.errors import InputFormatError
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
    # The same float64 operations per pixel as the textbook form (np.where over both branches),
    # in place and with the rare linear branch patched afterwards: bit-identical, ~2x faster.
    y = _Y_LUT[0].take(a[..., 0])
    y += _Y_LUT[1].take(a[..., 1])
    y += _Y_LUT[2].take(a[..., 2])  # Y >= 0: every table entry is
    L = np.cbrt(y)
    L *= 116.0
    L -= 16.0
    dark = y <= 0.008856
    if dark.any():
        L[dark] = 903.3 * y[dark]
    enc = y ** (1 / 2.4)
    enc *= 1.055
    enc -= 0.055
    dark = y <= 0.0031308
    if dark.any():
        enc[dark] = 12.92 * y[dark]
    enc *= 255.0
    np.rint(enc, out=enc)
    np.clip(enc, 0, 255, out=enc)
    gray = np.empty(a.shape[:-1] + (3,), np.uint8)
    gray[...] = enc.astype(np.uint8)[..., None]
    return L.astype(np.float32), gray


# Decoding source images (docs/evaluating.md#failures): the one function builders and the runner
# read images with.

# Pillow's own decompression-bomb limit (89,478,485 pixels, ~1/4 GiB of RGB): larger images are
# refused outright, not just warned about.
MAX_IMAGE_PIXELS: int = Image.MAX_IMAGE_PIXELS or 89_478_485

# Bumped whenever decode_image can return other pixels for the same file (stored GTs record it)
DECODER_VERSION = "2"  # 2: 16-bit samples scaled by v >> 8 (1 clipped 16-bit gray to white)

_MODE_NAMES = {
    "CMYK": "CMYK image", "P": "palette image", "PA": "palette+alpha image", "RGBA": "RGBA image",
    "RGBa": "RGBA image", "LA": "gray+alpha image", "La": "gray+alpha image", "1": "1-bit image",
    "I": "32-bit integer image", "F": "float image", "YCbCr": "YCbCr image", "LAB": "Lab image",
    "HSV": "HSV image", "L": "grayscale image", "RGB": "RGB image",
}  # fmt: skip
_GRAY16 = ("I;16", "I;16B", "I;16L", "I;16N")


def stored_bits(im: Image.Image) -> int:
    """Bits per sample as the file stores them (8 or 16), read from the decoder's raw mode of an
    opened image before :meth:`~PIL.Image.Image.load`: Pillow presents a 48-bit RGB PNG or TIFF as
    mode ``RGB`` (keeping the high byte of each sample), so the mode alone does not tell."""
    if im.mode in _GRAY16:
        return 16
    for tile in im.tile:
        args = tile[3]
        raw = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else ""
        if isinstance(raw, str) and ";16" in raw:
            return 16
    return 8


def describe_mode(mode: str, bits: int = 8) -> str:
    """What an image of Pillow ``mode`` is, in words ("16-bit grayscale image", "48-bit RGB
    image", "palette image"): the one wording of every message that refuses an image."""
    if mode in _GRAY16 or mode == "L" and bits == 16:
        return "16-bit grayscale image"
    if mode == "RGB" and bits == 16:
        return "48-bit RGB image (16 bits per sample)"
    if bits == 16:
        return f"16-bit {_MODE_NAMES.get(mode, f'{mode} image')}"
    return _MODE_NAMES.get(mode, f"{mode} image")


class ImageDecodeError(InputFormatError):
    """An image that cannot be used: ``reason`` is a short category (for counts), the message
    names the file, what is wrong and the fix."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """A decoded source image as uint8 RGB, with what it was."""

    rgb: np.ndarray
    mode: str  # the file's Pillow mode (RGB, L, I;16, ...)
    grayscale: bool  # one channel in the file (R = G = B here)
    bits: int  # bits per sample in the file (8 or 16)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def scale16(a: np.ndarray) -> np.ndarray:
    """16-bit samples to 8 bits by their high byte (v >> 8): the 8-bit value v8 stored as
    v8 * 257 maps back to v8 exactly, and it is what Pillow (and libpng's strip_16) give for
    48-bit RGB, so gray and colour 16-bit files scale alike."""
    return (np.asarray(a).astype(np.uint32) >> 8).astype(np.uint8)


def decode_image(source: Any, name: str, *, allow_gray: bool = True) -> DecodedImage:
    """Decode an image file (a path, or its bytes) into uint8 RGB, or raise
    :class:`ImageDecodeError` naming ``name`` and the fix.

    Accepted: 8-bit RGB; 48-bit RGB (Pillow keeps the high byte); with ``allow_gray`` 8-bit and
    16-bit grayscale (R = G = B, 16-bit by :func:`scale16`). Refused with the reason: empty,
    truncated or unidentifiable files, images over :data:`MAX_IMAGE_PIXELS` (decompression
    bombs, refused before any pixel is decoded), and every other mode (CMYK, palette, alpha,
    1-bit, float, 32-bit integer), which would need a guess."""
    import io
    import warnings

    from PIL import UnidentifiedImageError

    data = source if isinstance(source, (bytes, bytearray, memoryview)) else None
    if data is not None and len(data) == 0 or data is None and _size(source) == 0:
        raise ImageDecodeError(
            "unreadable image", f"{name}: the file is empty (0 bytes); restore or re-download it"
        )
    fp = io.BytesIO(data) if data is not None else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(fp)
        with im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise Image.DecompressionBombError(f"{w} x {h} = {w * h} pixels")
            mode, bits = im.mode, stored_bits(im)
            if mode not in ("RGB", "L", *_GRAY16, "I") or (
                mode in ("L", *_GRAY16, "I") and not allow_gray
            ):
                raise ImageDecodeError(
                    "non-RGB image",
                    f"{name} is a {describe_mode(mode, bits)} (mode {mode}); convert it to 8-bit RGB",
                )  # fmt: skip
            im.load()
            a = np.asarray(im)
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        import re

        n = re.search(r"(\d+) pixels", str(exc))
        dims = f"{int(n.group(1)):,}" if n else "its"
        raise ImageDecodeError(
            "decompression bomb",
            f"{name}: {dims} pixels is over the decompression-bomb limit of {MAX_IMAGE_PIXELS:,} "
            "pixels; downscale the image (or check that the file is what it claims to be)",
        ) from None
    except UnidentifiedImageError:
        raise ImageDecodeError(
            "unreadable image",
            f"{name}: not an image Pillow can identify (starts with {_head(source, data)!r}); "
            "restore the file or re-download it",
        ) from None
    except Exception as exc:  # noqa: BLE001  (Pillow raises many types for a bad file)
        detail = _strip_addresses(str(exc)) or type(exc).__name__
        raise ImageDecodeError(
            "unreadable image",
            f"{name}: cannot be decoded ({detail}; truncated or corrupt?); restore the file or re-download it",
        ) from None
    if mode == "RGB":  # 48-bit too: Pillow keeps the high byte, as scale16 does
        return DecodedImage(np.ascontiguousarray(a, dtype=np.uint8), mode, False, bits)
    if mode == "L":
        g, bits = a.astype(np.uint8, copy=False), 8
    else:
        a = np.asarray(a)
        if mode == "I" and (a.min() < 0 or a.max() > 0xFFFF):
            raise ImageDecodeError(
                "non-RGB image",
                f"{name} is a 32-bit integer image (values {a.min()}..{a.max()}); convert it to 8-bit RGB",
            )
        g, bits = scale16(a), 16
    return DecodedImage(np.repeat(g[..., None], 3, axis=-1), mode, True, bits)


def _size(path: Any) -> int | None:
    import os

    try:
        return os.path.getsize(path)
    except (OSError, TypeError):
        return None


def _head(source: Any, data: Any) -> bytes:
    if data is not None:
        return bytes(data[:8])
    try:
        with open(source, "rb") as f:
            return f.read(8)
    except OSError:
        return b""


def _strip_addresses(text: str) -> str:
    """An exception text without object reprs' memory addresses (``<... at 0x7f...>``)."""
    import re

    return re.sub(r"<[^<>]* at 0x[0-9a-fA-F]+>", "the file", text).strip()
