"""Model inputs of one pair, prepared in one place (docs/protocol.md#ground-truth-and-model-inputs):
the ground truth is the source image at the protocol geometry, stored once as PNG in the run
folder; models get its L* and gray rendering; linked instance masks follow the same geometry."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lcad_bench.evaluation.rundir import gt_relpath
from lcad_bench.fileio import atomic_write_bytes
from lcad_bench.imaging import (
    luminance_and_gray,
    mask_kept_fraction,
    mask_to_eval_geometry,
    to_eval_geometry,
)
from lcad_bench.splits import PairRecord, Split

PNG_COMPRESS_LEVEL = 1  # lossless either way; level 1 encodes several times faster than 6


@dataclass
class Prepared:
    """Model inputs of one pair at evaluation geometry."""

    gt: np.ndarray
    luminance: np.ndarray
    gray: np.ndarray
    masks: np.ndarray | None
    phrases: tuple[dict[str, Any], ...]
    mask_kept: tuple[float, ...] = ()


def encode_png(rgb: np.ndarray) -> bytes:
    """Lossless PNG bytes of a uint8 image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Atomic PNG write."""
    atomic_write_bytes(path, encode_png(rgb), fsync=False)


def prepare(
    split: Split, rec: PairRecord, run_dir: Path, submit: Callable[..., Any] | None = None
) -> Prepared:
    """Ground truth at evaluation geometry (stored once as PNG; ``submit`` runs the write, e.g.
    on a writer thread), the model inputs (L*, gray) and the linked masks."""
    from PIL import Image

    gt_path = run_dir / gt_relpath(rec.image_key)
    if gt_path.is_file():
        gt = np.asarray(Image.open(gt_path).convert("RGB"))
    else:
        gt = np.asarray(to_eval_geometry(split.load_image(rec)))
        (submit or (lambda fn, *a: fn(*a)))(write_png, gt_path, gt)
    lum, gray = luminance_and_gray(gt)
    masks = None
    phrases: tuple[dict[str, Any], ...] = ()
    kept: list[float] = []
    linked = rec.linked_instances()
    if linked:
        by_name: dict[str, list] = {}
        for inst in linked:
            by_name.setdefault(inst.mask_name or "", []).append(inst)
        names = sorted(by_name)
        ms = []
        pmap = {p.phrase_id: p for p in rec.colour_phrases}
        plist = []
        for n in names:
            full = np.zeros((rec.height, rec.width), bool)
            for inst in by_name[n]:
                full |= inst.decode()
            kept.append(mask_kept_fraction(full))
            ms.append(mask_to_eval_geometry(full))
            pid = by_name[n][0].phrase_id
            plist.append(pmap[pid].to_dict() | {"link": by_name[n][0].link} if pid in pmap else {})
        masks = np.stack(ms) if ms else None
        phrases = tuple(plist)
    return Prepared(gt, lum, gray, masks, phrases, tuple(kept))
