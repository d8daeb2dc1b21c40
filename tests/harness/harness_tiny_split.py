"""A tiny split with embedded synthetic images and masks (shared by the harness tests)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def _png(arr):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _rle(mask):
    from pycocotools import mask as mask_utils

    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(x) for x in r["size"]], "counts": r["counts"].decode("ascii")}


CAPTIONS = ("a red car on a green field", "a car parked on the grass")


def make_tiny_split(
    out: Path, n_images: int = 4, size: tuple[int, int] = (48, 64), captions=CAPTIONS
) -> Path:
    """A split of n_images synthetic images (a red box on a green field), two captions each."""
    import hashlib

    from lcad_bench.fileio import utc_now
    from lcad_bench.splits import Instance, Manifest, PairRecord, write_split
    from lcad_bench.text.extract import get_extractor
    from lcad_bench.text.levels import controlled_levels, natural_level

    ex = get_extractor()
    recs = []
    h, w = size
    for i in range(n_images):
        rng = np.random.default_rng(i)
        arr = np.zeros((h, w, 3), np.uint8)
        arr[...] = (40, 150, 50)
        m = np.zeros((h, w), bool)
        m[8 + i : 30 + i, 10:40] = True
        arr[m] = (210, 30, 30)
        arr = np.clip(arr.astype(int) + rng.integers(-10, 10, arr.shape), 0, 255).astype(np.uint8)
        data = _png(arr)
        for k, cap in enumerate(captions):
            a = ex.analyse(cap)
            pid = f"img{i:03d}#{k}"
            d = controlled_levels(a, pair_id=pid)
            car = next((p for p in a.phrases if p.object and p.object.head == "car"), None)
            inst = Instance(i + 1, "car", 3, (10.0, 8.0 + i, 30.0, 22.0), _rle(m), float(m.sum()), False,
                            car.phrase_id if car else None, "unique" if car else None, "m00" if car else None)  # fmt: skip
            recs.append(PairRecord(
                pair_id=pid, source="synthetic", image_key=f"img{i:03d}", image_id=str(i), image_path=None,
                image_bytes=data, image_sha256=hashlib.sha256(data).hexdigest(), width=w, height=h, caption=cap,
                caption_index=k, colour_phrases=a.phrases, natural_level=natural_level(a).level,
                descriptions=d.as_dict(), partial_kept_phrase_ids=d.kept_phrase_ids, instances=(inst,),
            ))  # fmt: skip
    write_split(out, recs, Manifest(split="tiny", builder={"name": "test", "version": "1"}, created_at=utc_now(),
                                     embed_images=True), overwrite=True)  # fmt: skip
    return out
