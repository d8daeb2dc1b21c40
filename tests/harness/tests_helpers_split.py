"""Helpers: a copy of the tiny split whose images are paths, one of them missing."""

from __future__ import annotations

import dataclasses
from pathlib import Path


def rewrite_without_bytes(tmp: Path) -> Path:
    from harness_tiny_split import make_tiny_split

    from lcad_bench.splits import load_split, write_split

    src = make_tiny_split(tmp / "src", n_images=2)
    s = load_split(src)
    img_dir = tmp / "images"
    img_dir.mkdir()
    recs = []
    for r in s.records:
        name = f"{r.image_key}.png"
        if r.image_key != "img001":
            (img_dir / name).write_bytes(r.image_bytes)
        recs.append(dataclasses.replace(r, image_bytes=None, image_path=name))
    m = s.manifest.model_copy(update={"image_root": str(img_dir), "embed_images": False})
    write_split(tmp / "paths", recs, m)
    return tmp / "paths"
