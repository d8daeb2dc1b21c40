"""The image stage of the COCO builders in worker processes, and the instances file read with
low memory.

Per image with a kept caption, a worker decodes the file and checks it (8-bit RGB, the annotated
size), runs the saturation test at evaluation geometry and encodes the instance masks (polygons or
RLE -> compressed RLE); the main process receives small results (checksum, verdict, RLE strings)
in image order and does the linking. Chunks of images go to a fork pool with a bounded number in
flight, so memory stays flat and the output is the same with 1 or N workers (the main process
consumes results in the order of the images, never in completion order).

The instances JSON is read once by :func:`read_instances` (:mod:`.jsonstream`): annotations are
decoded one at a time and their polygons stored as float64 arrays (the same doubles
``json.loads`` gives; pycocotools reads either), which is several times smaller than lists of
Python floats.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from lcad_bench.builders.common import CheckedImage, as_int, check_image
from lcad_bench.builders.jsonstream import read_json_object

CHUNK_IMAGES = 8  # images per task sent to a worker
IN_FLIGHT_PER_WORKER = 4  # chunks queued per worker (bounds the memory of pending results)


# --------------------------------------------------------------------------------------------
# masks


def ann_to_rle(seg: Any, h: int, w: int) -> dict[str, Any]:
    """COCO segmentation (polygons, uncompressed or compressed RLE) -> compressed RLE dict."""
    from pycocotools import mask as mask_utils

    if isinstance(seg, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    elif isinstance(seg, dict) and isinstance(seg.get("counts"), list):
        rle = mask_utils.frPyObjects(seg, h, w)
    elif isinstance(seg, dict):
        rle = {
            "size": seg["size"],
            "counts": seg["counts"].encode("ascii")
            if isinstance(seg["counts"], str)
            else seg["counts"],
        }
    else:
        raise TypeError(f"unsupported segmentation of type {type(seg).__name__}")
    counts = rle["counts"]
    return {
        "size": [int(x) for x in rle["size"]],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def encode_masks(
    segs: Sequence[tuple[int, Any]], h: int, w: int
) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
    """(annotation id, segmentation) pairs -> ({id: compressed RLE}, {id: why it failed})."""
    rles: dict[int, dict[str, Any]] = {}
    bad: dict[int, str] = {}
    for aid, seg in segs:
        try:
            rles[aid] = ann_to_rle(seg, h, w)
        except (ValueError, TypeError, KeyError) as exc:
            bad[aid] = str(exc)
    return rles, bad


@dataclass(slots=True)
class RawAnnotation:
    """An instance annotation as read (category not yet resolved): a few slots instead of a
    dict, a bbox tuple, polygons as float64 arrays."""

    id: int
    image_id: int
    category_id: int
    bbox: tuple[float, ...]
    area: float
    iscrowd: bool
    segmentation: Any


ANNOTATION_KEYS = ("id", "image_id", "category_id", "segmentation")


def raw_annotation(ann: dict[str, Any]) -> RawAnnotation:
    """The builder's conversions of an annotation's fields (int ids, float bbox and area, bool
    crowd flag); polygons become float64 arrays (exact: JSON numbers are doubles either way, and
    pycocotools converts each polygon with ``np.array(p, dtype=np.double)`` itself). A field
    that cannot be converted (an id that is not an integer, a bbox that is not numbers) raises
    ``ValueError``/``TypeError`` for the builder to report."""
    seg = ann["segmentation"]
    if isinstance(seg, list) and seg and all(type(p) is list for p in seg):
        # a polygon numpy cannot convert is left as decoded for the mask encoder to report
        with contextlib.suppress(ValueError, TypeError):
            seg = [np.asarray(p, dtype=np.float64) for p in seg]
    return RawAnnotation(
        as_int(ann["id"]), as_int(ann["image_id"]), as_int(ann["category_id"]),
        tuple(float(x) for x in ann.get("bbox", (0, 0, 0, 0))), float(ann.get("area", 0.0)),
        bool(ann.get("iscrowd", 0)), seg,
    )  # fmt: skip


def compact_annotation(key: str, ann: Any) -> Any:
    """:func:`read_instances` hook: a well-formed annotation becomes a :class:`RawAnnotation`
    as soon as it is decoded; anything else stays as decoded, for the builder to report."""
    if (
        key != "annotations"
        or not isinstance(ann, dict)
        or not all(k in ann for k in ANNOTATION_KEYS)
    ):
        return ann
    try:
        return raw_annotation(ann)
    except (TypeError, ValueError):
        return ann


def read_instances(path: str | Path, what: str) -> dict[str, Any]:
    """A COCO instances (or stuff) JSON, read once with low peak memory."""
    return read_json_object(path, what, stream=("images", "annotations"), hook=compact_annotation)


# --------------------------------------------------------------------------------------------
# the image stage


@dataclass(frozen=True, slots=True)
class ImageTask:
    """One image of the stage: its file, annotated size and the segmentations to encode."""

    image_id: int
    path: str
    width: int
    height: int
    segs: tuple[tuple[int, Any], ...]


@dataclass(frozen=True, slots=True)
class ImageResult:
    """What the main process needs of an image (``problem``: (reason, detail) of a skip)."""

    image_id: int
    problem: tuple[str, str] | None = None
    sha256: str = ""
    verdict: str = ""
    chroma_p99: float = 0.0
    hue_resultant: float = 0.0
    rles: dict[int, dict[str, Any]] | None = None
    bad_segs: dict[int, str] | None = None


def process_image(task: ImageTask) -> ImageResult:
    """Decode and check, saturation test at evaluation geometry, mask encoding."""
    from PIL import Image

    from lcad_bench.imaging import saturation_test, to_eval_geometry

    checked = check_image(Path(task.path))
    if not isinstance(checked, CheckedImage):
        return ImageResult(task.image_id, problem=checked)
    if (checked.width, checked.height) != (task.width, task.height):
        return ImageResult(task.image_id, problem=("size mismatch",
                           f"file is {checked.width}x{checked.height}, annotations say {task.width}x{task.height}"))  # fmt: skip
    sat = saturation_test(np.asarray(to_eval_geometry(Image.fromarray(checked.rgb))))
    res = {"sha256": checked.sha256, "verdict": sat.verdict, "chroma_p99": float(sat.chroma_p99),
           "hue_resultant": float(sat.hue_resultant)}  # fmt: skip
    if sat.verdict == "achromatic":
        return ImageResult(task.image_id, **res)  # type: ignore[arg-type]
    rles, bad = encode_masks(task.segs, task.height, task.width)
    return ImageResult(task.image_id, rles=rles, bad_segs=bad, **res)  # type: ignore[arg-type]


def _process_chunk(tasks: list[ImageTask]) -> list[ImageResult]:
    return [process_image(t) for t in tasks]


def default_workers() -> int:
    """The CPUs this process may use."""
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


def run_image_stage(
    tasks: Iterator[ImageTask], workers: int | None = None
) -> Iterator[ImageResult]:
    """:func:`process_image` over ``tasks``, results in task order, in ``workers`` forked
    processes (None: every CPU; 1: in this process)."""
    import multiprocessing as mp
    from collections import deque
    from itertools import islice

    n = default_workers() if workers is None else max(1, int(workers))
    if n <= 1 or "fork" not in mp.get_all_start_methods():
        for t in tasks:
            yield process_image(t)
        return
    # import what the workers use once, before forking, so no worker pays for it
    import pycocotools.mask  # noqa: F401
    from PIL import Image  # noqa: F401

    import lcad_bench.imaging  # noqa: F401

    with mp.get_context("fork").Pool(n) as pool:
        pending: deque[Any] = deque()
        while True:
            while len(pending) < n * IN_FLIGHT_PER_WORKER:
                chunk = list(islice(tasks, CHUNK_IMAGES))
                if not chunk:
                    break
                pending.append(pool.apply_async(_process_chunk, (chunk,)))
            if not pending:
                break
            yield from pending.popleft().get()
