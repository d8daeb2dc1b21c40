"""Colour-phrase extraction throughput over the 25,014 COCO val2017 captions.

Measures, in one run: the fast path (``extract_many``: pre-filter, de-duplication, forked
workers) end to end; the naive per-caption ``nlp(text)`` baseline and plain ``nlp.pipe`` on a
sample; and asserts that the fast path's output equals a full parse of every caption.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from benchmarks.common import shared_data, write_result

TARGET = 5000.0  # captions/s, end to end
NAIVE_SAMPLE = 1000


def run() -> dict[str, Any]:
    root = shared_data()
    if root is None:
        return {"skipped": "LCAD_BENCH_SHARED_DATA is unset"}
    path = root / "coco" / "annotations" / "captions_val2017.json"
    captions = [a["caption"] for a in json.loads(path.read_text())["annotations"]]

    from lcad_bench.text.extract import PhraseExtractor
    from lcad_bench.text.nlp import load_pipeline, pipeline_info
    from lcad_bench.text.rules import _Extractor, may_contain_colour

    t0 = time.perf_counter()
    nlp = load_pipeline()
    load_s = time.perf_counter() - t0
    ex = PhraseExtractor(nlp=nlp)

    t0 = time.perf_counter()
    fast = ex.extract_many(captions)
    fast_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    full = ex.extract_many(captions, fast=False)
    full_s = time.perf_counter() - t0
    identical = fast == full
    mismatches = [captions[i] for i in range(len(captions)) if fast[i] != full[i]][:10]

    sample = random.Random(0).sample(captions, NAIVE_SAMPLE)
    t0 = time.perf_counter()
    for t in sample:
        _Extractor(nlp(t), ex.lexicon).run()
    naive_rate = NAIVE_SAMPLE / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for doc in nlp.pipe(sample, batch_size=256):
        _Extractor(doc, ex.lexicon).run()
    pipe_rate = NAIVE_SAMPLE / (time.perf_counter() - t0)

    fast_rate = len(captions) / fast_s
    result = {
        "captions": len(captions),
        "captions_with_lexicon_word": sum(map(may_contain_colour, captions)),
        "captions_with_phrase": sum(1 for f in fast if f),
        "phrases": sum(len(f) for f in fast),
        "spacy_pipeline": pipeline_info(nlp),
        "pipeline_load_s": round(load_s, 3),
        "fast_path_s": round(fast_s, 3),
        "fast_path_captions_per_s": round(fast_rate, 1),
        "full_parse_s": round(full_s, 3),
        "full_parse_captions_per_s": round(len(captions) / full_s, 1),
        "naive_nlp_per_caption_captions_per_s": round(naive_rate, 1),
        "plain_nlp_pipe_captions_per_s": round(pipe_rate, 1),
        "speedup_vs_naive": round(fast_rate / naive_rate, 2),
        "speedup_vs_plain_pipe": round(fast_rate / pipe_rate, 2),
        "target_captions_per_s": TARGET,
        "meets_target": fast_rate >= TARGET,
        "fast_output_identical_to_full_parse": identical,
        "mismatches": mismatches,
    }
    if not identical:
        raise AssertionError(
            f"fast path differs from a full parse on {len(mismatches)}+ captions: {mismatches}"
        )
    return result


if __name__ == "__main__":
    print(json.dumps(write_result("extract", run()), indent=2))
