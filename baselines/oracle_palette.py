"""``oracle-palette``: a diagnostic that paints each linked instance mask with its named colour.

Inside mask k it keeps the input luminance and sets (a*, b*) to the mean lexicon reference
(a*, b*) of phrase k's hue terms, scaled by ``chroma`` (default 1.0) and clipped into the sRGB
gamut by the Lab->sRGB conversion; outside the masks the image stays gray. It sees no ground
truth colour: only the masks and phrases every mask-aware model receives. Its colour-word hit
rate (CWHR) should be near 1, which checks the masks, links and the CWHR table end to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lcad_bench.imaging import lab_to_srgb, to_uint8
from lcad_bench.models import ColorizationRequest, Colorizer


class OraclePaletteColorizer(Colorizer):
    """Paints masks with the named colours over the input luminance."""

    name = "oracle-palette"
    version = "1"
    uses_instance_masks = True
    luminance_replaced = True

    def __init__(self, chroma: float = 1.0) -> None:
        self.chroma = float(chroma)

    def config(self) -> dict[str, Any]:
        return {"chroma": self.chroma}

    def colorize(self, batch: Sequence[ColorizationRequest]) -> list[np.ndarray]:
        from lcad_bench.lexicon import load_lexicon

        lex = load_lexicon()
        out = []
        for r in batch:
            L = r.luminance.astype(np.float64)
            a = np.zeros_like(L)
            b = np.zeros_like(L)
            if r.masks is not None:
                for k, phrase in enumerate(r.phrases[: len(r.masks)]):
                    labs = [lex.colours[c["canonical"]].lab for c in phrase.get("colours", []) if c.get("canonical") in lex.colours]
                    if not labs:
                        continue
                    m = r.masks[k]
                    # achromatic names (white, gray, black, silver) keep chroma 0: only L matters
                    a[m] = self.chroma * float(np.mean([x[1] for x in labs]))
                    b[m] = self.chroma * float(np.mean([x[2] for x in labs]))
            out.append(to_uint8(lab_to_srgb(np.stack([L, a, b], axis=-1))))
        return out
