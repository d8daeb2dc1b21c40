"""Fixtures of the builder tests: the CLI entry point with ``build`` available, and tiny images."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def cli():
    """``lcad_bench.cli.main``: the real entry point, its error handling and exit codes."""
    import lcad_bench.cli as cli_mod

    return cli_mod.main


def make_rgb(h=40, w=60, seed=0, colour=True):
    """A small uint8 image: colourful noise, or gray."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if not colour:
        a[..., 1] = a[..., 0]
        a[..., 2] = a[..., 0]
    return a


@pytest.fixture
def save_png():
    """save(path, seed, colour=True): write a small colourful (or gray) 8-bit RGB PNG."""
    from PIL import Image

    def save(path, seed=0, colour=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(make_rgb(40, 60, seed, colour)).save(path, format="PNG")

    return save


@pytest.fixture
def bad_images():
    """name -> writer(path) of the bad-image cases every builder must skip (or stop on)."""
    from PIL import Image

    def cmyk(p):
        Image.new("CMYK", (32, 24), (10, 200, 30, 0)).save(p, format="JPEG")

    def sixteen(p):
        Image.fromarray(np.full((24, 32), 40000, dtype=np.uint16)).save(p, format="PNG")

    def palette(p):
        Image.fromarray(make_rgb(24, 32)).convert("P").save(p, format="PNG")

    def rgba(p):
        Image.fromarray(make_rgb(24, 32)).convert("RGBA").save(p, format="PNG")

    def unreadable(p):
        p.write_bytes(b"this is not an image")

    return {
        "cmyk": cmyk,
        "16bit": sixteen,
        "palette": palette,
        "rgba": rgba,
        "unreadable": unreadable,
    }
