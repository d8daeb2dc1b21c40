"""Misbehaving models for the reliability tests (loaded by ``--model rel_models:Class``)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from lcad_bench.models import Colorizer


class Exits(Colorizer):
    """Calls sys.exit(0) on one pair (a plug-in that 'gives up')."""

    name = "exits"

    def colorize(self, batch):
        if any(r.pair_id == "b#0" for r in batch):
            sys.exit(0)
        return [r.gray for r in batch]


class InterruptOnce(Colorizer):
    """Raises KeyboardInterrupt (Ctrl-C) on its third call while ``stop_file`` exists, then
    removes it; the config does not depend on the file, so a rerun resumes the same cache."""

    name = "interrupt-once"

    def __init__(self, stop_file: str = "") -> None:
        self.stop_file = stop_file
        self.calls = 0

    def colorize(self, batch):
        self.calls += 1
        if self.calls == 3 and self.stop_file and os.path.exists(self.stop_file):
            os.unlink(self.stop_file)
            raise KeyboardInterrupt
        return [r.gray for r in batch]


class FailsOnPair(Colorizer):
    """Raises for any batch holding pair ``bad`` (as a model whose batch step fails)."""

    name = "fails-on-pair"

    def __init__(self, bad: str = "b#0") -> None:
        self.bad = bad
        self.calls: list[int] = []

    def colorize(self, batch):
        self.calls.append(len(batch))
        if any(r.pair_id == self.bad for r in batch):
            raise RuntimeError(f"cannot colorize {self.bad}")
        return [r.gray for r in batch]


class Hangs(Colorizer):
    """Sleeps for a long time on one pair."""

    name = "hangs"

    def colorize(self, batch):
        if any(r.pair_id == "b#0" for r in batch):
            time.sleep(30)
        return [r.gray for r in batch]


class EditsInputs(Colorizer):
    """Paints into its request's gray array (the same array every level of the pair gets)."""

    name = "edits-inputs"

    def colorize(self, batch):
        out = []
        for r in batch:
            r.gray[..., 0] = 255
            out.append(r.gray)
        return out


class ReusesBuffer(Colorizer):
    """Returns one buffer it keeps refilling (a model with a preallocated output tensor): what
    was scored must be what is written."""

    name = "reuses-buffer"

    def __init__(self) -> None:
        self.buf: np.ndarray | None = None

    def colorize(self, batch):
        outs = []
        for r in batch:
            if self.buf is None:
                self.buf = np.empty_like(r.gray)
            self.buf[...] = r.gray
            self.buf[..., 0] = (self.buf[..., 0].astype(int) + len(r.description)) % 256
            outs.append(self.buf)
        return outs


def marker(path: str | Path) -> str:
    Path(path).write_text("stop")
    return str(path)
