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


def _gold_captions():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("lcad_gold3", Path(__file__).parent / "gold.py")
    gold = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gold)
    return [c for _, c, _ in gold.read_gold()]


def test_fast_annotator_reproduces_the_pipeline(extractor):
    """FastAnnotator (no attribute ruler / lemmatizer components) annotates exactly as nlp."""
    from lcad_bench.text.nlp import FastAnnotator

    fa = FastAnnotator.create(extractor.nlp)
    assert fa is not None, "the default pipeline is reproducible"
    caps = _gold_captions() + [
        "There's nothing here, y'all, that I'd say isn't   blue.",
        "He doesn't have it; whether or not she did, nobody knows\n",
        "A MAN IN RED WAS RIDING A BIKE",
    ]
    full = list(extractor.nlp.pipe(caps))
    fast = list(fa.pipe(caps))
    for a, b in zip(full, fast):
        assert [t.text for t in a] == [t.text for t in b]
        for x, y in zip(a, b):
            got = (y.pos_, y.tag_, str(y.morph), y.dep_, y.head.i, fa.lemma(y))
            assert (x.pos_, x.tag_, str(x.morph), x.dep_, x.head.i, x.lemma_) == got, (a.text, x)


def test_unparsed_analysis_equals_a_parse(extractor):
    from lcad_bench.text.rules import _analyse_doc

    for text in ["a man riding a skateboard", "", "Two dogs stand near a fence.", "a 🚗 on a road"]:
        assert not may_contain_colour(text)
        assert extractor.unparsed(text) == _analyse_doc(
            extractor.nlp(text), extractor.lexicon, True
        )


def test_describe_many_equals_a_full_parse(extractor, shared_data):
    """What `describe --file` computes (parse only captions with a lexicon word, in forked
    workers that also derive the levels) equals describing full nlp.pipe parses."""
    from lcad_bench.text.describe import Caption, describe_analyses, describe_many

    caps = _sample_captions(shared_data, n=2500)
    caps = [Caption(f"c{i}", t) for i, t in enumerate(caps + caps[:30])]  # duplicates too
    fast = describe_many(caps, extractor, base_seed=3, n_process=2)
    full = describe_analyses(
        caps, extractor.analyse_many([c.text for c in caps], fast=False), base_seed=3
    )
    assert [d.to_dict() for d in fast] == [d.to_dict() for d in full]


def test_describe_lines_equal_describe_many(extractor, shared_data):
    """`describe --file --out` writes describe_lines: the same JSON as describe_many."""
    import json

    from lcad_bench.text.describe import Caption, describe_lines, describe_many

    caps = [Caption(f"c{i}", t) for i, t in enumerate(_sample_captions(shared_data, n=800))]
    lines, summary = describe_lines(caps, base_seed=1)
    want = [json.dumps(d.to_dict(), ensure_ascii=False) for d in describe_many(caps, extractor, 1)]
    assert lines == want
    assert summary["captions"] == len(caps) and sum(summary["levels"].values()) == len(caps)
