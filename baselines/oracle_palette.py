"""``oracle-palette``: a diagnostic that paints each linked instance mask with its named colour.

Each colour name maps (through the lexicon's CWHR classes, first class) to a prototype of the
protocol's CWHR colour table in 8-bit OpenCV HSV: the hue at the centre of the class's main
range and a saturation inside its range (red H 0, orange 14, yellow 25, green 55, blue 105,
purple 137, pink 157 at S 150, brown H 14 with V kept within 40-170, orange with V above 170
since the table's brown box covers darker oranges). Inside mask k every pixel
gets that hue and saturation at its own value V = the gray input's level, so the painting
follows the input's light and shade; achromatic names (black, gray, white, silver) leave the
gray (they reset the mask to it). A phrase with several colours ("red and white cup") gets one
vertical band of its mask per colour, left to right, each with an equal share of the mask's pixels. Outside the masks the image stays gray. It sees no ground-truth colour:
only the masks and phrases every mask-aware model receives. Its CWHR should be near 1, which
checks the masks, the links and the CWHR table end to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lcad_bench.models import ColorizationRequest, Colorizer

# OpenCV-convention prototypes: (H in 0..180, S in 0..255, V range)
PROTOTYPES: dict[str, tuple[float, float, tuple[int, int]]] = {
    "red": (0.0, 220.0, (40, 255)),
    "orange": (14.0, 200.0, (171, 255)),  # below V 171 the table's brown box wins
    "yellow": (25.0, 200.0, (40, 255)),
    "green": (55.0, 200.0, (40, 255)),
    "blue": (105.0, 200.0, (40, 255)),
    "purple": (137.0, 200.0, (40, 255)),
    "pink": (157.0, 150.0, (40, 255)),
    "brown": (14.0, 200.0, (40, 170)),
}


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """OpenCV-convention HSV (H 0..180, S, V 0..255) to uint8 RGB."""
    hh = (h * 2.0 % 360.0) / 60.0
    ss, vv = s / 255.0, v / 255.0
    c = vv * ss
    x = c * (1 - np.abs(hh % 2 - 1))
    z = np.zeros_like(hh)
    i = np.floor(hh).astype(int) % 6
    r = np.choose(i, [c, x, z, z, x, c])
    g = np.choose(i, [x, c, c, x, z, z])
    b = np.choose(i, [z, z, x, c, c, x])
    m = vv - c
    rgb = np.stack([r + m, g + m, b + m], axis=-1)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


class OraclePaletteColorizer(Colorizer):
    """Paints linked masks with CWHR-class prototypes of their named colours."""

    name = "oracle-palette"
    version = "2"
    uses_instance_masks = True
    luminance_replaced = False
    oracle = True  # a diagnostic upper bound for CWHR, not a colorizer to rank

    def __init__(self, chroma: float = 1.0) -> None:
        self.chroma = float(chroma)

    def config(self) -> dict[str, Any]:
        return {"chroma": self.chroma}

    def colorize(self, batch: Sequence[ColorizationRequest]) -> list[np.ndarray]:
        from lcad_bench.text.lexicon import load_lexicon

        lex = load_lexicon()
        out = []
        for r in batch:
            img = r.gray.copy()
            v = r.gray[..., 0].astype(np.float64)
            if r.masks is not None:
                for k, phrase in enumerate(r.phrases[: len(r.masks)]):
                    names = [
                        c["canonical"]
                        for c in phrase.get("colours", [])
                        if c.get("canonical") in lex.colours
                    ]
                    m = r.masks[k]
                    if not names or not m.any():
                        continue
                    xs = np.nonzero(m)[1]
                    edges = (
                        np.quantile(xs, np.linspace(0, 1, len(names) + 1))
                        if len(names) > 1
                        else None
                    )
                    for j, name in enumerate(names):
                        cls = lex.colours[name].cwhr_classes[0]
                        band = m.copy()
                        if edges is not None:
                            cols = np.arange(m.shape[1])
                            lo, hi = edges[j], edges[j + 1]
                            keep = (cols >= lo) & ((cols < hi) | (j == len(names) - 1))
                            band[:, ~keep] = False
                        if cls not in PROTOTYPES:  # achromatic: the gray input fits
                            img[band] = r.gray[band]
                            continue
                        hue, sat, (vlo, vhi) = PROTOTYPES[cls]
                        vv = np.clip(v[band], vlo, vhi) * self.chroma + v[band] * (1 - self.chroma)
                        img[band] = hsv_to_rgb(
                            np.full(vv.shape, hue), np.full(vv.shape, sat * self.chroma), vv
                        )
            out.append(img)
        return out
