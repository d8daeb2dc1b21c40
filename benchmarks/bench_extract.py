"""Colour-phrase extraction over the 25,014 COCO val2017 captions.

Measures, in one run:

* ``lcad-bench describe --file captions_val2017.json --out F`` as a **whole process** (command
  start to exit: interpreter start, pipeline load, all captions described, all records written),
  captions/s, against the target (5,000/s) and against plain ``nlp.pipe`` (the full pipeline,
  one process, pipeline already loaded) timed in the same run on a random sample;
* ``extract_many`` (the builders' fast path) end to end in this process;
* the naive per-caption ``nlp(text)`` baseline on a sample;
* that the fast paths change nothing: ``describe_many`` (what ``describe --file`` runs) equals
  describing full ``nlp.pipe`` parses of every caption, and the command's JSON Lines equal it;
* the validator over every caption (captions whose generated text fails: sent to review);
* the val2017 gold sets (each with its role): pair precision/recall and sparse/partial correctness.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import shared_data, write_result

TARGET = 5000.0  # captions/s, describe --file end to end
TARGET_RATIO = 4.0  # x plain nlp.pipe
PIPE_SAMPLE = 5000
NAIVE_SAMPLE = 1000


GOLD_SETS = (
    ("development", "gold_val2017", "drawn blind, then used during development (double-annotated)"),
    ("heldout", "gold_val2017_heldout", "blind; its misses were then used to find failure classes"),
    (
        "test",
        "gold_val2017_test",
        "final test set, blind when measured once after development; its misses were then used "
        "to find failure classes",
    ),
    (
        "test2",
        "gold_val2017_test2",
        "second final test set (double-annotated), measured blind twice (docs/protocol.md, "
        "Quality), then its two misses of the last class round were used; no partial texts",
    ),
)


def _gold_module():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tests" / "gold.py"
    spec = importlib.util.spec_from_file_location("lcad_gold_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def describe_process(path: Path) -> tuple[float, Path]:
    """Seconds of ``lcad-bench describe --file path --out F -q`` from start to exit."""
    out = Path(tempfile.mkdtemp()) / "described.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "lcad_bench",
        "describe",
        "--file",
        str(path),
        "--out",
        str(out),
        "-q",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise AssertionError(f"describe failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, out


def run() -> dict[str, Any]:
    root = shared_data()
    if root is None:
        return {"skipped": "LCAD_BENCH_SHARED_DATA is unset"}
    path = root / "coco" / "annotations" / "captions_val2017.json"

    # 1. the command, as a user runs it (first, so nothing of this process is shared)
    describe_s, out = describe_process(path)

    from lcad_bench.text.describe import describe_analyses, describe_many, read_captions
    from lcad_bench.text.extract import PhraseExtractor
    from lcad_bench.text.nlp import load_pipeline, pipeline_info
    from lcad_bench.text.rules import _Extractor, may_contain_colour

    caps = read_captions(path)
    captions = [c.text for c in caps]
    n = len(captions)
    describe_rate = n / describe_s

    t0 = time.perf_counter()
    nlp = load_pipeline()
    load_s = time.perf_counter() - t0
    ex = PhraseExtractor(nlp=nlp)

    # 2. plain nlp.pipe (full pipeline, loaded, one process) on a random sample
    sample = random.Random(0).sample(captions, PIPE_SAMPLE)
    t0 = time.perf_counter()
    for _doc in nlp.pipe(sample, batch_size=256):
        pass
    pipe_rate = PIPE_SAMPLE / (time.perf_counter() - t0)

    # 3. extract_many end to end in this process
    t0 = time.perf_counter()
    fast = ex.extract_many(captions)
    fast_s = time.perf_counter() - t0

    # 4. naive per-caption nlp(text) + rules
    naive = sample[:NAIVE_SAMPLE]
    t0 = time.perf_counter()
    for t in naive:
        _Extractor(nlp(t), ex.lexicon).run()
    naive_rate = NAIVE_SAMPLE / (time.perf_counter() - t0)

    # 5. identity: describe_many (and the command's file) == describing full parses
    t0 = time.perf_counter()
    fast_d = describe_many(caps, ex)
    full_d = describe_analyses(caps, ex.analyse_many(captions, fast=False))
    full_s = time.perf_counter() - t0
    fast_rows = [d.to_dict() for d in fast_d]
    full_rows = [d.to_dict() for d in full_d]
    mismatches = [r["text"] for r, s in zip(fast_rows, full_rows) if r != s][:10]
    file_rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    file_identical = file_rows == json.loads(json.dumps(full_rows, ensure_ascii=False))
    review = [d for d in fast_d if d.levels.problems]

    # 6. the gold sets (tests/fixtures/gold_val2017*/), each with its role (GOLD_SETS; none is
    # blind any more: docs/protocol.md, Quality, records the blind measurements)
    gm = _gold_module()
    fixtures = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
    gold_sets = {}
    for key, folder, role in GOLD_SETS:
        scored = gm.score_val2017(ex, gm.read_val2017_gold(fixtures / folder / "gold.tsv"))
        gold_sets[key] = {"folder": f"tests/fixtures/{folder}", "role": role, **scored}

    result = {
        "captions": n,
        "captions_with_lexicon_word": sum(map(may_contain_colour, captions)),
        "captions_with_phrase": sum(1 for f in fast if f),
        "phrases": sum(len(f) for f in fast),
        "spacy_pipeline": pipeline_info(nlp),
        "describe_file_end_to_end_s": round(describe_s, 3),
        "describe_file_end_to_end_captions_per_s": round(describe_rate, 1),
        "plain_nlp_pipe_captions_per_s": round(pipe_rate, 1),
        "plain_nlp_pipe_sample": PIPE_SAMPLE,
        "describe_speedup_vs_plain_pipe": round(describe_rate / pipe_rate, 2),
        "target_captions_per_s": TARGET,
        "target_speedup_vs_plain_pipe": TARGET_RATIO,
        "meets_target": describe_rate >= TARGET and describe_rate >= TARGET_RATIO * pipe_rate,
        "pipeline_load_s": round(load_s, 3),
        "extract_many_s": round(fast_s, 3),
        "extract_many_captions_per_s": round(n / fast_s, 1),
        "naive_nlp_per_caption_captions_per_s": round(naive_rate, 1),
        "full_parse_and_describe_s": round(full_s, 3),
        "describe_identical_to_full_parse": not mismatches,
        "describe_file_identical_to_full_parse": file_identical,
        "mismatches": mismatches,
        "validator_review_captions": len(review),
        "validator_review": [
            {"id": d.caption.id, "text": d.caption.text, "problems": list(d.levels.problems)}
            for d in review
        ],
        "gold_sets": gold_sets,
    }
    if mismatches or not file_identical:
        raise AssertionError(
            f"describe differs from a full parse (file identical: {file_identical}): {mismatches}"
        )
    return result


if __name__ == "__main__":
    print(write_result("extract", run()))
