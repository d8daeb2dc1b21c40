"""Builder throughput: the caption stage of ``build coco-stuff`` over the 25,014 COCO val2017
captions, and the full build of coco-mini (80 images) for both COCO splits, with the
multi-instance yield per 1,000 images (manifest counts) and the review count."""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.common import shared_data, write_result

TARGET = 5000.0


def run() -> dict[str, Any]:
    root = shared_data()
    if root is None:
        return {"skipped": "LCAD_BENCH_SHARED_DATA is unset"}
    from lcad_bench.builders.coco import build_coco, caption_stage
    from lcad_bench.builders.common import Problems

    from lcad_bench.text.extract import get_extractor

    ex = get_extractor()
    data = json.loads((root / "coco/annotations/captions_val2017.json").read_text())
    by_img = defaultdict(list)
    for a in data["annotations"]:
        by_img[a["image_id"]].append((a["id"], a["caption"]))
    items = [(iid, k, t) for iid in sorted(by_img) for k, (_, t) in enumerate(sorted(by_img[iid]))]
    t0 = time.perf_counter()
    kept, review, n_parsed = caption_stage(items, ex, Problems(quiet=True))
    stage_s = time.perf_counter() - t0
    rate = len(items) / stage_s
    result: dict[str, Any] = {
        "caption_stage": {
            "captions": len(items),
            "parsed": n_parsed,
            "kept_captions": sum(len(v) for v in kept.values()),
            "kept_images": len(kept),
            "bw_review_images": len(review),
            "seconds": round(stage_s, 3),
            "captions_per_s": round(rate, 1),
            "target_captions_per_s": TARGET,
            "meets_target": rate >= TARGET,
        }
    }
    mini = root / "coco-mini"
    for kind in ("coco-stuff", "multi-instance"):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            m = build_coco(
                kind,
                mini / "annotations/captions_train2017.json",
                mini / "annotations/instances_train2017.json",
                mini / "train2017",
                Path(tmp) / "out",
                quiet=True,
            )
            result[f"coco_mini_{kind}"] = {
                "seconds": round(time.perf_counter() - t0, 3),
                "pairs": m.counts["pairs"],
                "images": m.counts["images"],
                "images_with_captions": m.counts["images_with_captions"],
                "excluded": m.counts["excluded"],
                "captions_for_review": m.counts["captions_for_review"],
                **{k: v for k, v in m.counts.items() if k.startswith("multi_instance")},
            }
    return result


if __name__ == "__main__":
    print(write_result("build", run()))
