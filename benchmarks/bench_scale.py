"""COCO builds at train2017 scale on a synthetic COCO-format input.

* **caption stage** over 591,753 captions on 118,287 images (the size of captions_train2017):
  the COCO val2017 captions cycled, each copy after the first made distinct by a trailing
  " (copy N)", so the stage's de-duplication cannot skip them and every caption with a colour
  word is really parsed (train2017's captions are almost all distinct); target < 120 s;
* **instances load**: a synthetic instances JSON with 118,287 images and 860,001 annotations
  whose segmentations are the real polygons/RLEs of coco-mini cycled (~450 MB like
  instances_train2017.json), read by the builder's loader (``_load_inputs``, streaming) in a fresh
  process: wall time and peak RSS, next to ``json.loads`` of the same file (the former reader)
  and the RSS of the builder's imports alone (``imports_only``);
* **image stage**: a documented fraction (``IMAGE_FRACTION`` images, 640 x 427 JPEGs with ~7
  instance polygons each) through ``run_image_stage`` with 1 and 2 workers; speed-up target
  >= 1.7x with 2 workers; the per-image cost is extrapolated to 118,287 images.

``LCAD_BENCH_SCALE=0.1`` runs every part at a tenth of the size (a quick check; the result file
says which scale it ran at).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, shared_data, write_result

N_IMAGES = 118_287
N_CAPTIONS = 591_753
N_INSTANCES = 860_001
IMAGE_FRACTION = 1_200  # images timed in the image stage (per-image cost extrapolated)
CAPTION_TARGET_S = 120.0
SPEEDUP_TARGET = 1.7


def _scale() -> float:
    return float(os.environ.get("LCAD_BENCH_SCALE", "1") or 1)


def caption_stage(root: Path, n_captions: int, n_images: int) -> dict[str, Any]:
    from lcad_bench.builders.coco import caption_stage as run_stage
    from lcad_bench.builders.common import Problems

    from lcad_bench.text.extract import get_extractor

    val = json.loads((root / "coco/annotations/captions_val2017.json").read_text())
    texts = [a["caption"] for a in sorted(val["annotations"], key=lambda a: a["id"])]
    per = max(1, n_captions // n_images)

    def text(k: int) -> str:
        copy = k // len(texts)
        return texts[k % len(texts)] + (f" (copy {copy})" if copy else "")

    items = [(1 + k // per, k % per, text(k)) for k in range(n_captions)]
    ex = get_extractor()
    t0 = time.perf_counter()
    kept, review, n_parsed = run_stage(items, ex, Problems(quiet=True))
    s = time.perf_counter() - t0
    return {
        "captions": n_captions, "images": n_images, "parsed": n_parsed,
        "distinct_captions": len({t for _, _, t in items}),
        "kept_captions": sum(len(v) for v in kept.values()), "seconds": round(s, 1),
        "captions_per_s": round(n_captions / s, 1), "target_s": CAPTION_TARGET_S * n_captions / N_CAPTIONS,
        "meets_target": s < CAPTION_TARGET_S * n_captions / N_CAPTIONS,
    }  # fmt: skip


def write_instances(path: Path, root: Path, n_images: int, n_anns: int) -> int:
    """A COCO instances file at scale, written one annotation at a time; returns its size."""
    mini = json.loads((root / "coco-mini/annotations/instances_train2017.json").read_text())
    segs = [
        (a["segmentation"], a["area"], a["bbox"], a["iscrowd"], a["category_id"])
        for a in mini["annotations"]
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            '{"info": {"description": "synthetic train2017-scale instances"}, "licenses": [], "images": ['
        )
        for i in range(1, n_images + 1):
            f.write(("," if i > 1 else "") + json.dumps({"license": 1, "file_name": f"{i:012d}.jpg", "height": 427,
                                                        "width": 640, "id": i}))  # fmt: skip
        f.write('], "annotations": [')
        for k in range(n_anns):
            seg, area, bbox, crowd, cat = segs[k % len(segs)]
            a = {"segmentation": seg, "area": area, "iscrowd": crowd, "image_id": 1 + k % n_images,
                 "bbox": bbox, "category_id": cat, "id": k + 1}  # fmt: skip
            f.write(("," if k else "") + json.dumps(a))
        f.write('], "categories": ' + json.dumps(mini["categories"]) + "}")
    return path.stat().st_size


LOAD_SCRIPT = """
import json, sys, time
from benchmarks.common import peak_rss_mb
from pathlib import Path
t0 = time.perf_counter()
if sys.argv[1] == "builder":
    from lcad_bench.builders.coco import _load_inputs
    from lcad_bench.builders.common import Problems
    images, anns, caps = _load_inputs(Path(sys.argv[3]), Path(sys.argv[2]), None, Problems(quiet=True))
    n = sum(len(v) for v in anns.values())
elif sys.argv[1] == "imports_only":  # the builder process before it reads anything
    from lcad_bench.builders.coco import _load_inputs
    n = None
else:
    data = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    n = len(data["annotations"])
print(json.dumps({"seconds": time.perf_counter() - t0, "annotations": n,
                  "peak_rss_mb": peak_rss_mb()}))
"""


def instances_load(tmp: Path, root: Path, n_images: int, n_anns: int) -> dict[str, Any]:
    inst = tmp / "instances.json"
    size = write_instances(inst, root, n_images, n_anns)
    caps = tmp / "captions.json"
    caps.write_text(json.dumps({"images": [], "annotations": []}))
    out: dict[str, Any] = {
        "file_mb": round(size / 2**20, 1),
        "images": n_images,
        "annotations": n_anns,
    }
    for mode in ("builder", "json_loads", "imports_only"):
        p = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, mode, str(inst), str(caps)], capture_output=True,
                           text=True, timeout=3600, check=True, cwd=REPO)  # fmt: skip
        r = json.loads(p.stdout.strip().splitlines()[-1])
        assert r["annotations"] in (n_anns, None), r
        out[mode] = {"seconds": round(r["seconds"], 1), "peak_rss_mb": round(r["peak_rss_mb"], 1)}
    inst.unlink()
    return out


def image_stage(tmp: Path, root: Path, n: int) -> dict[str, Any]:
    import numpy as np
    from lcad_bench.builders.coco_images import ImageTask, run_image_stage
    from PIL import Image

    mini = json.loads((root / "coco-mini/annotations/instances_train2017.json").read_text())
    polys = [a["segmentation"] for a in mini["annotations"] if isinstance(a["segmentation"], list)]
    h, w = 427, 640
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    tasks = []
    for i in range(n):
        rng = np.random.default_rng(i)
        c = rng.uniform(0, 1, (3, 3))
        arr = np.stack([c[j, 0] * xx + c[j, 1] * yy + c[j, 2] * 0.5 for j in range(3)], -1)
        arr = (np.clip(arr + rng.normal(0, 0.05, arr.shape), 0, 1) * 255).astype(np.uint8)
        path = tmp / f"{i:06d}.jpg"
        Image.fromarray(arr).save(path, quality=90)
        segs = tuple((k, polys[(i * 7 + k) % len(polys)]) for k in range(7))
        tasks.append(ImageTask(i, str(path), w, h, segs))
    times = {}
    outs = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        outs[workers] = list(run_image_stage(iter(tasks), workers))
        times[workers] = time.perf_counter() - t0
    assert outs[1] == outs[2], "results differ between 1 and 2 workers"
    per_image = times[1] / n
    return {
        "images_timed": n, "image_size": [w, h], "instances_per_image": 7,
        "seconds_1_worker": round(times[1], 2), "seconds_2_workers": round(times[2], 2),
        "speedup_2_workers": round(times[1] / times[2], 2), "target_speedup": SPEEDUP_TARGET,
        "meets_target": times[1] / times[2] >= SPEEDUP_TARGET,
        "per_image_ms_1_worker": round(per_image * 1000, 2),
        "extrapolated_train2017_minutes": {"1_worker": round(per_image * N_IMAGES / 60, 1),
                                           "2_workers": round(times[2] / n * N_IMAGES / 60, 1)},
    }  # fmt: skip


def run() -> dict[str, Any]:
    root = shared_data()
    if root is None:
        return {"skipped": "LCAD_BENCH_SHARED_DATA is unset"}
    sc = _scale()
    result: dict[str, Any] = {"scale": sc}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        result["image_stage"] = image_stage(t, root, max(50, int(IMAGE_FRACTION * min(sc, 1.0))))
        result["instances_load"] = instances_load(
            t, root, int(N_IMAGES * sc), int(N_INSTANCES * sc)
        )
    result["caption_stage"] = caption_stage(root, int(N_CAPTIONS * sc), int(N_IMAGES * sc))
    return result


if __name__ == "__main__":
    print(json.dumps(write_result("scale", run()), indent=2))
