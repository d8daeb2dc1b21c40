"""The fast extraction path (pre-filter, de-duplication, forked workers) gives exactly the output
of parsing every caption."""

from __future__ import annotations

import json
import random

from lcad_bench.text.rules import may_contain_colour


def _sample_captions(shared_data_or_none, n=1500):
    if shared_data_or_none is not None:
        path = shared_data_or_none / "coco" / "annotations" / "captions_val2017.json"
        caps = [a["caption"] for a in json.loads(path.read_text())["annotations"]]
        random.Random(0).shuffle(caps)
        return caps[:n]
    return None


def test_fast_equals_full_on_real_coco_sample(extractor, shared_data):
    caps = _sample_captions(shared_data)
    caps = caps + caps[:50]  # duplicates share one parse
    fast = extractor.extract_many(caps, fast=True, n_process=1)
    full = extractor.extract_many(caps, fast=False)
    assert fast == full
    assert sum(1 for f in fast if f) > 200


def test_forked_workers_equal_in_process(extractor):
    caps = [
        f"a {c} car number {i} next to a {d} bus"
        for i, (c, d) in enumerate(
            zip(["red", "blue", "white", "navy", "gold"] * 30, ["green", "gray", "pink"] * 50)
        )
    ]
    caps += ["a dog on a beach", "an orange on a bench", ""] * 10
    assert extractor.extract_many(caps, n_process=2) == extractor.extract_many(caps, fast=False)
    par = extractor.analyse_many(caps, n_process=2)
    seq = extractor.analyse_many(caps, n_process=1)
    assert par == seq


def test_prefilter_is_a_superset():
    # every caption with a phrase must pass the pre-filter; captions without lexicon words skip
    assert (
        may_contain_colour("A RED car")
        and may_contain_colour("dark-green")
        and may_contain_colour("multi-colored")
    )
    assert not may_contain_colour("a man covered in mud") and not may_contain_colour("credit card")
    assert not may_contain_colour("")


def test_fast_equals_full_on_gold_captions(extractor):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("lcad_gold2", Path(__file__).parent / "gold.py")
    gold = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gold)
    caps = [c for _, c, _ in gold.read_gold()]
    assert extractor.extract_many(caps) == extractor.extract_many(caps, fast=False)
