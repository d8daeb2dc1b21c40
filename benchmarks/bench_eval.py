"""Harness overhead and memory: ``evaluate`` on synthetic splits versus raw metric calls.

* wall time of the harness (requests, model, PNG cache, metrics, aggregation) on 500 images vs
  the raw per-sample metric calls on the same prediction/GT arrays: target <= 1.2x;
* peak RSS of a full ``evaluate`` on 5,000 vs 500 images, each in a fresh process: target <= 1.2x.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import write_result

METRICS = ["psnr", "ssim", "colourfulness", "cwhr"]
SIZE = 256


def make_split(out: Path, n: int) -> Path:
    """n synthetic 256x256 images (smooth colour fields with a box), one caption, paths not bytes."""
    import hashlib

    import numpy as np
    from PIL import Image

    from lcad_bench.fileio import utc_now
    from lcad_bench.splits import Manifest, PairRecord, write_split
    from lcad_bench.text.records import ColorPhrase, ColourTerm, ObjectRef

    img_dir = out / "images"
    img_dir.mkdir(parents=True)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    phrase = ColorPhrase(0, "R1", (ColourTerm("red", "red", "red", (2, 5)),),
                         ObjectRef("box", "box", "box", (6, 9), (6, 9), (0, 9)), removal=((2, 5),))  # fmt: skip
    recs = []
    for i in range(n):
        rng = np.random.default_rng(i)
        c = rng.uniform(0, 1, (3, 3))
        arr = np.stack([c[k, 0] + c[k, 1] * xx + c[k, 2] * yy for k in range(3)], -1) / 3
        arr = (np.clip(arr, 0, 1) * 255).astype(np.uint8)
        arr[64:160, 80:200] = (200, 30, 30)
        name = f"{i:06d}.png"
        Image.fromarray(arr).save(img_dir / name)
        recs.append(PairRecord(
            pair_id=f"{i:06d}#0", source="synthetic", image_key=f"{i:06d}", image_id=str(i), image_path=name,
            image_bytes=None, image_sha256=hashlib.sha256(arr.tobytes()).hexdigest(), width=SIZE, height=SIZE,
            caption="a red box", caption_index=0, colour_phrases=(phrase,), natural_level="complete",
            descriptions={"complete": "a red box", "partial": None, "sparse": "a box", "none": ""},
        ))  # fmt: skip
    write_split(out / "split", recs, Manifest(split="synthetic", builder={"name": "bench", "version": "1"},
                                              created_at=utc_now(), image_root=str(img_dir)))  # fmt: skip
    return out / "split"


CHILD = """
import json, resource, sys, time
from lcad_bench.models import create_model
from lcad_bench.evaluation.runner import evaluate
import lcad_bench.evaluation.suite, lcad_bench.metrics.ssim, lcad_bench.metrics.cwhr, torchmetrics  # imports outside the timing
evaluate(create_model("gray"), sys.argv[1], sys.argv[2] + "-warmup", metrics={metrics}, levels=["complete"], limit=16, quiet=True)
t = time.perf_counter()
res = evaluate(create_model("gray"), sys.argv[1], sys.argv[2], metrics={metrics}, levels=["complete"], batch_size=16, quiet=True)
print(json.dumps({{"seconds": time.perf_counter() - t, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "samples": res.counts["samples"], "failed": res.counts["failed"]}}))
"""


def child_run(split: Path, out: Path) -> dict[str, Any]:
    code = CHILD.format(metrics=repr(METRICS))
    p = subprocess.run(
        [sys.executable, "-c", code, str(split), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if p.returncode != 0:
        raise AssertionError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def raw_metric_seconds(split: Path, n: int) -> float:
    """The same per-sample metrics called directly on in-memory arrays (GT and gray output)."""
    import numpy as np

    from lcad_bench.evaluation.inputs import Prepared
    from lcad_bench.evaluation.plan import Item
    from lcad_bench.evaluation.suite import build_suite
    from lcad_bench.imaging import luminance_and_gray, to_eval_geometry
    from lcad_bench.splits import load_split

    s = load_split(split)
    gts, preds, preps = [], [], []
    for r in s.records[:n]:
        gt = np.asarray(to_eval_geometry(s.load_image(r)))
        gts.append(gt)
        preds.append(luminance_and_gray(gt)[1])
        preps.append(Prepared(gt, np.zeros((0, 0), np.float32), preds[-1], None, ()))
    suite = build_suite(METRICS, explicit=True)
    items = [Item(r, "complete", 0, 0, r.caption, key=r.pair_id) for r in s.records[:n]]
    suite.per_sample(items[:16], preds[:16], gts[:16], preps[:16])  # warm-up, as the harness gets
    suite = build_suite(METRICS, explicit=True)
    t = time.perf_counter()
    for k in range(0, n, 16):
        suite.per_sample(items[k : k + 16], preds[k : k + 16], gts[k : k + 16], preps[k : k + 16])
    return time.perf_counter() - t


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        small = make_split(t / "s500", 500)
        big = make_split(t / "s5000", 5000)
        raw = raw_metric_seconds(small, 500)
        r500 = child_run(small, t / "run500")
        r5000 = child_run(big, t / "run5000")
    ratio_t = r500["seconds"] / raw
    ratio_m = r5000["peak_rss_mb"] / r500["peak_rss_mb"]
    return {
        "metrics": METRICS,
        "raw_metric_calls_500_s": round(raw, 3),
        "harness_500": r500,
        "harness_5000": r5000,
        "harness_over_raw_time": round(ratio_t, 3),
        "rss_5000_over_500": round(ratio_m, 3),
        "target_time_ratio": 1.2,
        "target_rss_ratio": 1.2,
        "meets_time_target": ratio_t <= 1.2,
        "meets_rss_target": ratio_m <= 1.2,
    }


if __name__ == "__main__":
    print(json.dumps(write_result("eval", run()), indent=2))
