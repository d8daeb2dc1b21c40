"""Pre- and post-processing of the reference L-CAD model (docs/lcad.md#deliberate-differences-from-the-official-code-and-why).

The luminance hint is computed exactly as the official data loader does it: square resize with
PIL bilinear (torchvision ``Resize`` on a PIL image), ``ToTensor`` (float32 in [0, 1]), sRGB → CIE
L* with the D65 matrix, and ``hint = L / 127.5 - 1`` repeated to three channels. The hint therefore
lies in [-1, -0.21569], never in [-1, 1].

Post-processing is off by default (the official output is the raw 256² decoder RGB). The named,
optional variants are :func:`resize_back` and :func:`replace_luminance`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

# sRGB (linear) → XYZ, D65, rows X, Y, Z (official rgb2lab)
_RGB2XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_WHITE = (0.95047, 1.0, 1.08883)


def _as_float_rgb(rgb: torch.Tensor) -> torch.Tensor:
    if rgb.ndim == 3:
        rgb = rgb.unsqueeze(0)
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(
            f"expected RGB as [B,3,H,W] or [3,H,W] in [0,1], got shape {tuple(rgb.shape)}"
        )
    return rgb


def srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """CIE Lab (D65) of sRGB in [0, 1], NCHW, with the official formulas (L in [0, 100])."""
    rgb = _as_float_rgb(rgb)
    lin = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = torch.tensor(_RGB2XYZ, dtype=lin.dtype, device=lin.device)
    xyz = torch.einsum("ij,bjhw->bihw", m, lin)
    white = torch.tensor(_WHITE, dtype=lin.dtype, device=lin.device).view(1, 3, 1, 1)
    t = xyz / white
    f = torch.where(t > 0.008856, t.clamp_min(0) ** (1.0 / 3.0), 7.787 * t + 16.0 / 116.0)
    lum = 116.0 * f[:, 1:2] - 16.0
    a = 500.0 * (f[:, 0:1] - f[:, 1:2])
    b = 200.0 * (f[:, 1:2] - f[:, 2:3])
    return torch.cat([lum, a, b], dim=1)


def lab_to_srgb(lab: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`srgb_to_lab` (same constants), clamped to [0, 1]."""
    lum, a, b = lab[:, 0:1], lab[:, 1:2], lab[:, 2:3]
    fy = (lum + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    f = torch.cat([fx, fy, fz], dim=1)
    t = torch.where(f > 0.008856 ** (1.0 / 3.0), f**3, (f - 16.0 / 116.0) / 7.787)
    white = torch.tensor(_WHITE, dtype=lab.dtype, device=lab.device).view(1, 3, 1, 1)
    xyz = t * white
    m = torch.linalg.inv(torch.tensor(_RGB2XYZ, dtype=torch.float64)).to(lab.dtype).to(lab.device)
    lin = torch.einsum("ij,bjhw->bihw", m, xyz).clamp(0.0, 1.0)
    srgb = torch.where(
        lin > 0.0031308, 1.055 * lin.clamp_min(1e-12) ** (1.0 / 2.4) - 0.055, 12.92 * lin
    )
    return srgb.clamp(0.0, 1.0)


def srgb_to_luminance(rgb: torch.Tensor) -> torch.Tensor:
    """CIE L* in [0, 100] of sRGB in [0, 1]: ``[B,1,H,W]``."""
    return srgb_to_lab(rgb)[:, 0:1]


def luminance_to_hint(lum: torch.Tensor) -> torch.Tensor:
    """The official normalisation ``L / 127.5 - 1`` repeated to 3 channels: ``[B,3,H,W]``."""
    if lum.ndim == 2:
        lum = lum[None, None]
    elif lum.ndim == 3:
        lum = lum[:, None]
    if lum.ndim != 4 or lum.shape[1] != 1:
        raise ValueError(
            f"expected L* as [H,W], [B,H,W] or [B,1,H,W], got shape {tuple(lum.shape)}"
        )
    return (lum / 127.5 - 1.0).repeat(1, 3, 1, 1)


def pil_to_tensor(image: Any, size: int | tuple[int, int] | None = 256) -> torch.Tensor:
    """A PIL image (any mode) → float32 ``[3,H,W]`` in [0, 1], square-resized like the official loader.

    ``size=None`` keeps the original size. The resize is PIL bilinear, which is what torchvision's
    ``Resize`` does on a PIL image (antialiased, aspect ratio not preserved).
    """
    from PIL import Image

    img = image.convert("RGB")
    if size is not None:
        wh = (size, size) if isinstance(size, int) else (size[1], size[0])
        if img.size != wh:
            img = img.resize(wh, Image.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8).copy()
    return torch.from_numpy(arr).permute(2, 0, 1).float() / 255.0


def image_to_hint(image: Any, size: int | tuple[int, int] | None = 256) -> torch.Tensor:
    """The L-CAD luminance hint ``[1,3,H,W]`` of a PIL image, an HxWx3 uint8 array, or a [3,H,W] tensor.

    Arrays and tensors are converted to PIL first so that the resize is the official one.
    """
    from PIL import Image

    if isinstance(image, torch.Tensor):
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(
                f"expected an RGB tensor [3,H,W] in [0,1], got shape {tuple(image.shape)}"
            )
        arr = (image.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        image = Image.fromarray(arr)
    elif isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image array, got dtype {image.dtype}")
        image = Image.fromarray(image if image.ndim == 3 else np.stack([image] * 3, axis=-1))
    rgb = pil_to_tensor(image, size)
    return luminance_to_hint(srgb_to_luminance(rgb))


def luminance_array_to_hint(
    lum: np.ndarray | torch.Tensor, size: int | tuple[int, int] | None = 256
) -> torch.Tensor:
    """A precomputed L* map (float in [0, 100], HxW) → hint ``[1,3,h,w]``.

    When ``size`` differs from the map's size, L* is resized with antialiased bilinear
    interpolation (the official code resizes RGB before computing L*; for gray inputs the two agree
    up to the non-linearity of L*).
    """
    t = torch.as_tensor(
        np.asarray(lum, dtype=np.float32) if not isinstance(lum, torch.Tensor) else lum
    ).float()
    if t.ndim != 2:
        raise ValueError(f"expected an L* map of shape [H,W], got shape {tuple(t.shape)}")
    t = t[None, None]
    if size is not None:
        hw = (size, size) if isinstance(size, int) else tuple(size)
        if tuple(t.shape[-2:]) != hw:
            t = torch.nn.functional.interpolate(
                t, size=hw, mode="bilinear", align_corners=False, antialias=True
            )
    return luminance_to_hint(t)


def decoded_to_unit(decoded: torch.Tensor) -> torch.Tensor:
    """Decoder output in [-1, 1] → clamped RGB in [0, 1] (official ``clamp``, ``(x+1)/2``)."""
    return (decoded.clamp(-1.0, 1.0) + 1.0) / 2.0


def unit_to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """[B,3,H,W] in [0,1] → uint8 ``[B,H,W,3]`` with the official **truncation** (not rounding)."""
    return (rgb.clamp(0, 1) * 255.0).permute(0, 2, 3, 1).cpu().numpy().astype(np.uint8)


def resize_back(rgb: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Post-processing ``resize_back``: bicubic resize of [B,3,h,w] in [0,1] to ``size=(H, W)``."""
    if tuple(rgb.shape[-2:]) == tuple(size):
        return rgb
    out = torch.nn.functional.interpolate(
        rgb, size=size, mode="bicubic", align_corners=False, antialias=True
    )
    return out.clamp(0.0, 1.0)


def replace_luminance(rgb: torch.Tensor, lum: torch.Tensor) -> torch.Tensor:
    """Post-processing ``l_replace``: keep the output's a*b* and put back the input L* in Lab.

    ``rgb`` is [B,3,h,w] in [0,1]; ``lum`` is L* in [0,100] as [B,1,H,W]. The output is first
    resized (bicubic) to the L* resolution, so this is "L-replacement at original resolution".
    """
    rgb = resize_back(rgb, tuple(lum.shape[-2:]))
    lab = srgb_to_lab(rgb.double())
    lab = torch.cat([lum.to(lab.dtype), lab[:, 1:]], dim=1)
    return lab_to_srgb(lab).to(rgb.dtype)
