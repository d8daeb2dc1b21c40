"""A slow gray model that logs the keys it computes (for the SIGKILL resume test)."""

from __future__ import annotations

import os
import time

from lcad_bench.models import Colorizer


class SlowGray(Colorizer):
    name = "slow-gray"

    def __init__(self, log: str, delay: float = 0.15):
        self.log, self.delay = log, float(delay)

    def colorize(self, batch):
        time.sleep(self.delay)
        with open(self.log, "a") as f:
            for r in batch:
                f.write(r.key + "\n")
            f.flush()
            os.fsync(f.fileno())
        return [r.gray for r in batch]
