"""Extraction quality on hand-written COCO-style captions with gold (colours, object) pairs."""

from __future__ import annotations

import importlib.util
import sys
from collections import defaultdict
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("lcad_gold", Path(__file__).parent / "gold.py")
gold = importlib.util.module_from_spec(_spec)
sys.modules["lcad_gold"] = gold
_spec.loader.exec_module(gold)

ROWS = gold.read_gold()
REQUIRED_SECTIONS = [
    "R1 amod",
    "R2 chains",
    "R3 predicate",
    "R4 colored",
    "R5 in X color",
    "R6 garments",
    "R7 compound",
    "modified and hyphenated colours",
    "extended colour names",
    "non-hue colour words",
    "ambiguous uses and negatives",
    "several phrases",
]


def test_gold_set_size_and_coverage():
    assert len(ROWS) >= 150
    per = defaultdict(int)
    for section, _, _ in ROWS:
        per[section] += 1
    for s in REQUIRED_SECTIONS:
        assert per[s] >= 5, f"section {s!r} has {per[s]} captions"


def test_precision_and_recall_at_least_090(extractor, capsys):
    tp = fp = fn = 0
    per = defaultdict(lambda: [0, 0, 0])
    misses = []
    for section, caption, want in ROWS:
        got = gold.predicted_pairs(extractor.extract(caption))
        t, f_p, f_n = len(got & want), len(got - want), len(want - got)
        tp, fp, fn = tp + t, fp + f_p, fn + f_n
        for i, v in enumerate((t, f_p, f_n)):
            per[section][i] += v
        if got != want:
            misses.append(f"{caption!r}: gold {sorted(want)} got {sorted(got)}")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    with capsys.disabled():
        print(
            f"\n[extraction gold] {len(ROWS)} captions: precision {precision:.3f} recall {recall:.3f} "
            f"(tp {tp}, fp {fp}, fn {fn})"
        )
        for m in misses:
            print("   miss:", m)
    assert precision >= 0.90 and recall >= 0.90, misses


@pytest.mark.parametrize(
    "section,caption,want", ROWS[:5] + [r for r in ROWS if r[0] == "ambiguous uses and negatives"]
)
def test_spans_slice_the_input(extractor, section, caption, want):
    for p in extractor.extract(caption):
        for c in p.colours:
            assert caption[c.span[0] : c.span[1]] == c.text
        if p.object is not None:
            assert caption[p.object.span[0] : p.object.span[1]] == p.object.text
            assert caption[p.object.head_span[0] : p.object.head_span[1]] == p.object.head
            s, e = p.object.noun_span
            assert caption[s:e].endswith(p.object.head)


def test_protocol_example_record(extractor):
    text = "a black and white dog sitting on a red fire hydrant"
    ps = extractor.extract(text)
    assert [p.rule for p in ps] == ["R2", "R7"]
    d = ps[0].to_dict()
    assert [c["text"] for c in d["colours"]] == ["black", "white"]
    assert [c["span"] for c in d["colours"]] == [[2, 7], [12, 17]]
    assert d["object"]["text"] == "dog" and d["object"]["span"] == [18, 21]
    assert d["object"]["plural"] is False and d["nonhue"] is False and d["garment"] is False
    hyd = ps[1]
    assert hyd.object.text == "fire hydrant" and hyd.object.lemma == "hydrant"
    assert text[slice(*hyd.object.noun_span)] == "a red fire hydrant"


def test_modifiers_garments_and_hyphens(extractor):
    (p,) = extractor.extract("a dark-green shirt")
    assert p.canonical == ("green",) and p.modifiers == ("dark",)
    (p,) = extractor.extract("a reddish brown horse")
    assert p.canonical == ("brown",) and "reddish" in p.modifiers
    (p,) = extractor.extract("a boy wearing yellow")
    assert p.garment and p.object.head == "boy" and p.rule == "R6"
    (p,) = extractor.extract("a man wearing a yellow shirt")
    assert not p.garment and p.object.head == "shirt"
    (p,) = extractor.extract("a reddish dog")
    assert p.canonical == ("red",) and p.modifiers == ("ish",)
    assert extractor.extract("the car is not red") == []


def test_round_trip_dict(extractor):
    from lcad_bench.text.records import ColorPhrase

    for p in extractor.extract("a light blue shirt and a boy wearing red"):
        assert ColorPhrase.from_dict(p.to_dict()) == p


def test_bw_photo_mention(extractor):
    a = extractor.analyse("a black and white photo of a man on a bike")
    assert a.bw_photo_mention and a.phrases == ()
    assert not extractor.analyse("a black and white dog").bw_photo_mention
