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


def _is_span_key(key: str) -> bool:
    return key.endswith(("span", "spans")) or key == "removal"


def _strip_spans(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_spans(v) for k, v in obj.items() if not _is_span_key(k)}
    if isinstance(obj, list):
        return [_strip_spans(v) for v in obj]
    return obj


def phrase_for_level(ph: dict[str, Any], described: bool, spans_ok: bool) -> dict[str, Any]:
    """What a model (plug-in or external) learns about one mask's phrase at a level: the full
    record with ``described: True`` when the level's description still names its colour (its
    character spans only when the description is the caption verbatim, where they point at the
    right characters), else only its object and link with ``described: False``. A colour the
    level's text withholds never reaches a model (docs/protocol.md#ground-truth-and-model-inputs)."""
    if not ph:
        return {"phrase_id": None, "described": False}
    if described:
        return {**(dict(ph) if spans_ok else _strip_spans(ph)), "described": True}
    obj = ph.get("object") or {}
    return {
        "phrase_id": ph.get("phrase_id"), "described": False, "link": ph.get("link"),
        "object": {key: obj.get(key) for key in ("text", "lemma", "head", "plural") if key in obj} or None,
    }  # fmt: skip


def phrases_for_level(
    prep: Prepared, described_ids: frozenset[int] | None, spans_ok: bool
) -> tuple[dict[str, Any], ...]:
    """:func:`phrase_for_level` for every mask of a pair (``described_ids``: the ids the level's
    description names, None for all)."""
    return tuple(
        phrase_for_level(
            ph, described_ids is None or ph.get("phrase_id") in described_ids, spans_ok
        )
        for ph in prep.phrases
    )
