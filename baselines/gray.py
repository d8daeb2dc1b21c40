"""``gray``: returns the luminance as a gray image -- the lower bound of every colour metric."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lcad_bench.models import ColorizationRequest, Colorizer


class GrayColorizer(Colorizer):
    """Outputs the gray rendering of the input luminance (L*, 0, 0)."""

    name = "gray"
    version = "1"

    def colorize(self, batch: Sequence[ColorizationRequest]) -> list[np.ndarray]:
        return [r.gray.copy() for r in batch]
