"""Model inputs of one pair, prepared in one place (docs/protocol.md#ground-truth-and-model-inputs):
the ground truth is the source image at the protocol geometry, stored once as PNG in the run
folder; models get its L* and gray rendering; linked instance masks follow the same geometry.

Nothing is trusted on the way in (docs/evaluating.md#failures): the source image must match the
sha256 and size the split recorded (streamed, once per image), a stored GT PNG is reused only when
``gt/index.jsonl`` says it was made from that source with this geometry and the PNG still has
the recorded sha256, and every instance RLE is checked before it is decoded. Every array handed
on is read-only, so a model cannot change what later levels of the pair, or the metrics, see.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lcad_bench.errors import InputFormatError, LcadBenchError
from lcad_bench.evaluation.rundir import append_gt_index, gt_relpath, read_gt_index, writing
from lcad_bench.fileio import atomic_write_bytes, file_sha256
from lcad_bench.imaging import (
    DECODER_VERSION,
    ImageDecodeError,
    luminance_and_gray,
    mask_kept_fraction,
    mask_to_eval_geometry,
    to_eval_geometry,
)
from lcad_bench.models import ColorizationRequest
from lcad_bench.protocol import EVAL_RESOLUTION, PROTOCOL_VERSION, RESAMPLE, RESIZE_POLICY
from lcad_bench.splits import PairRecord, Split

if TYPE_CHECKING:
    from lcad_bench.evaluation.plan import Item

# Lossless either way: zlib level 1 with the run-length strategy encodes ~2.5x faster than
# Pillow's default (level 6) and ~15 % faster than level 1 alone, with smaller files than the
# latter on both smooth and noisy images (measured on 256x256 RGB).
PNG_COMPRESS_LEVEL = 1
PNG_ZLIB_STRATEGY = zlib.Z_RLE

# What a stored GT depends on besides its source image (gt/index.jsonl records it)
GT_GEOMETRY: dict[str, Any] = {
    "protocol_version": PROTOCOL_VERSION, "eval_resolution": EVAL_RESOLUTION,
    "resize_policy": RESIZE_POLICY, "resample": RESAMPLE, "decoder": DECODER_VERSION,
}  # fmt: skip


@dataclass
class Prepared:
    """Model inputs of one pair at evaluation geometry (read-only arrays)."""

    gt: np.ndarray
    luminance: np.ndarray
    gray: np.ndarray
    masks: np.ndarray | None
    phrases: tuple[dict[str, Any], ...]
    mask_kept: tuple[float, ...] = ()


def frozen(a: np.ndarray) -> np.ndarray:
    """``a`` made read-only (in place; returned for chaining)."""
    a.flags.writeable = False
    return a


def encode_png(rgb: np.ndarray) -> bytes:
    """Lossless PNG bytes of a uint8 image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(
        buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL, compress_type=PNG_ZLIB_STRATEGY
    )
    return buf.getvalue()


def write_png(path: Path, rgb: np.ndarray) -> str:
    """Atomic PNG write; returns the PNG's sha256."""
    data = encode_png(rgb)
    with writing(path):
        atomic_write_bytes(path, data, fsync=False)
    return hashlib.sha256(data).hexdigest()


def read_png(path: Path) -> np.ndarray:
    """A PNG the harness wrote, as uint8 RGB."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class InputPreparer:
    """Prepares the pairs of one run: the GT of the current image is kept (pairs of an image are
    consecutive in a split), ``gt/index.jsonl`` is read once, GT writes go through ``submit``
    (e.g. the output cache's writer thread)."""

    def __init__(
        self, split: Split, run_dir: Path, submit: Callable[..., Any] | None = None
    ) -> None:
        self.split = split
        self.run_dir = Path(run_dir)
        self.submit = submit or (lambda fn, *a: fn(*a))
        self.index = read_gt_index(run_dir)
        self._last: tuple[str, np.ndarray | LcadBenchError] | None = None
        self._inputs: tuple[str, np.ndarray, np.ndarray] | None = None  # the image's L*, gray

    def ground_truth(self, rec: PairRecord) -> np.ndarray:
        """The GT of ``rec``'s image at evaluation geometry (read-only), or the error that names
        the file and the fix."""
        if self._last is None or self._last[0] != rec.image_key:
            try:
                value: np.ndarray | LcadBenchError = self._ground_truth(rec)
            except LcadBenchError as exc:
                value = exc
            self._last = (rec.image_key, value)
        value = self._last[1]
        if isinstance(value, LcadBenchError):
            raise value
        return value

    def _ground_truth(self, rec: PairRecord) -> np.ndarray:
        source_sha = self.split.verify_image(rec)  # the source is what the split recorded
        rel = gt_relpath(rec.image_key)
        gt_path = self.run_dir / rel
        known = self.index.get(rec.image_key)
        if (
            known is not None
            and known.get("source_sha256") == source_sha
            and known.get("geometry") == GT_GEOMETRY
            and gt_path.is_file()
        ):
            try:
                if file_sha256(gt_path) == known.get("sha256"):
                    gt = read_png(gt_path)
                    if gt.shape == (EVAL_RESOLUTION, EVAL_RESOLUTION, 3):
                        return frozen(gt)
            except Exception:  # noqa: BLE001  (an unreadable stored GT is simply made again)
                pass
        img = self.split.read_image(rec)
        from PIL import Image

        gt = frozen(np.asarray(to_eval_geometry(Image.fromarray(img.rgb))))
        record = {"image_key": rec.image_key, "path": rel, "source_sha256": source_sha,
                  "geometry": GT_GEOMETRY}  # fmt: skip
        self.index[rec.image_key] = record | {"sha256": None}
        self.submit(self._store_gt, gt_path, gt, record)
        return gt

    def _store_gt(self, path: Path, gt: np.ndarray, record: dict[str, Any]) -> None:
        sha = write_png(path, gt)
        append_gt_index(self.run_dir, record | {"sha256": sha})

    def prepare(self, rec: PairRecord) -> Prepared:
        """The model inputs of one pair (errors name the file or instance and the fix)."""
        gt = self.ground_truth(rec)
        if self._inputs is None or self._inputs[0] != rec.image_key:
            lum, gray = luminance_and_gray(gt)
            self._inputs = (rec.image_key, frozen(lum), frozen(gray))
        _, lum, gray = self._inputs  # shared by the image's pairs: read-only
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
                    try:
                        full |= inst.decode((rec.height, rec.width))
                    except (ValueError, TypeError, KeyError, OverflowError, IndexError) as exc:
                        raise InputFormatError(
                            f"{rec.pair_id}: instance {inst.instance_id} ({inst.category}) has a malformed "
                            f"RLE mask: {exc}; rebuild the split (its instances column is damaged)"
                        ) from exc
                kept.append(mask_kept_fraction(full))
                ms.append(mask_to_eval_geometry(full))
                pid = by_name[n][0].phrase_id
                plist.append(
                    pmap[pid].to_dict() | {"link": by_name[n][0].link} if pid in pmap else {}
                )
            masks = frozen(np.stack(ms)) if ms else None
            phrases = tuple(plist)
        return Prepared(gt, lum, gray, masks, phrases, tuple(kept))


def prepare(
    split: Split, rec: PairRecord, run_dir: Path, submit: Callable[..., Any] | None = None
) -> Prepared:
    """The inputs of one pair (one-off use; a run keeps one :class:`InputPreparer`)."""
    return InputPreparer(split, run_dir, submit).prepare(rec)


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


def request_for(item: Item, prep: Prepared, uses_instance_masks: bool) -> ColorizationRequest:
    """The request a model gets for ``item`` (its ``key`` still empty): the one rule for what a
    model sees, used by the runner, by the output-cache key (:func:`.cache.request_key` hashes
    every field of it) and by ``export-inputs``. The instance prompt only at ``complete``; masks
    and their phrase records (:func:`phrases_for_level`) only for a model that uses masks."""
    rec = item.record
    return ColorizationRequest(
        key="", pair_id=rec.pair_id, level=item.level, luminance=prep.luminance, gray=prep.gray,
        description=item.description,
        instance_prompt=rec.instance_prompt if item.level == "complete" else None,
        masks=prep.masks if uses_instance_masks else None,
        phrases=phrases_for_level(prep, item.described_phrase_ids, item.description == rec.caption)
        if uses_instance_masks else (),
        seed=item.seed,
    )  # fmt: skip


__all__ = [
    "GT_GEOMETRY", "ImageDecodeError", "InputPreparer", "Prepared", "encode_png", "frozen",
    "phrase_for_level", "phrases_for_level", "prepare", "read_png", "request_for", "write_png",
]  # fmt: skip
