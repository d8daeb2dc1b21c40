"""A slow gray model for the data-parallel tests: logs "<rank> <device> <key>" per computed
request and writes its pid to ``<pids>/pid.<rank>`` so a test can kill one rank."""

from __future__ import annotations

import os
import time
from pathlib import Path

from lcad_bench.models import Colorizer


class RankedSlowGray(Colorizer):
    name = "ranked-slow-gray"

    def __init__(self, log: str, delay: float = 0.2, pids: str | None = None):
        self.log, self.delay = log, float(delay)
        self.rank = os.environ.get("RANK", "0")
        self.device = "unset"
        if pids:
            Path(pids, f"pid.{self.rank}").write_text(str(os.getpid()))

    def use_device(self, device):
        self.device = device

    def colorize(self, batch):
        time.sleep(self.delay)
        with open(self.log, "a") as f:
            f.write("".join(f"{self.rank} {self.device} {r.key}\n" for r in batch))
            f.flush()
            os.fsync(f.fileno())
        return [r.gray for r in batch]


class FailsOnRank(RankedSlowGray):
    """Raises for every request in process ``rank`` (a failed sample there; with --strict that
    process stops with exit code 5 while the others go on)."""

    name = "fails-on-rank"

    def __init__(self, log: str, rank: str = "1", delay: float = 0.0):
        super().__init__(log, delay)
        self.fail_rank = str(rank)

    def colorize(self, batch):
        if self.rank == self.fail_rank:
            raise RuntimeError(f"process {self.rank} cannot colorize {batch[0].pair_id}")
        return super().colorize(batch)
