"""``text-tint``: a training-free, language-based baseline.

Rule: the hue colour words of the description (found with the project's colour-phrase extractor)
give CIELab chroma targets, the lexicon's reference (a*, b*) of each term. Their mean (a*, b*),
scaled by ``strength`` (default 0.35) and by a luminance weight w(L) = sin(pi L / 100) that
keeps black and white neutral, is added to every pixel: Lab_out = (L, w(L) s a_mean,
w(L) s b_mean). No colour word ("none", "sparse" descriptions): the gray image. The luminance is
the input's, so the output is ``luminance_replaced`` by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lcad_bench.imaging import lab_to_srgb, to_uint8
from lcad_bench.models import ColorizationRequest, Colorizer


class TextTintColorizer(Colorizer):
    """Tints the whole image with the mean reference colour of the described colours."""

    name = "text-tint"
    version = "1"
    luminance_replaced = True

    def __init__(self, strength: float = 0.35, spacy_model: str | None = None) -> None:
        if not 0.0 <= float(strength) <= 1.0:
            from lcad_bench.errors import UsageError

            raise UsageError(f"text-tint: strength must be in [0, 1], got {strength}")
        self.strength = float(strength)
        self.spacy_model = spacy_model

    def config(self) -> dict[str, Any]:
        return {"strength": self.strength}

    def target_ab(self, description: str) -> tuple[float, float] | None:
        """Mean reference (a*, b*) of the description's hue terms, or None."""
        from lcad_bench.text.extract import extract
        from lcad_bench.text.lexicon import load_lexicon

        lex = load_lexicon()
        labs = [lex.colours[c.text.lower()].lab for p in extract(description, self.spacy_model) if not p.nonhue
                for c in p.colours if c.text.lower() in lex.colours]  # fmt: skip
        if not labs:
            return None
        return float(np.mean([lab[1] for lab in labs])), float(np.mean([lab[2] for lab in labs]))

    def colorize(self, batch: Sequence[ColorizationRequest]) -> list[np.ndarray]:
        out = []
        for r in batch:
            ab = self.target_ab(r.description) if r.description else None
            if ab is None:
                out.append(r.gray.copy())
                continue
            L = r.luminance.astype(np.float64)
            w = np.sin(np.pi * np.clip(L, 0, 100) / 100.0) * self.strength
            lab = np.stack([L, w * ab[0], w * ab[1]], axis=-1)
            out.append(to_uint8(lab_to_srgb(lab)))
        return out
