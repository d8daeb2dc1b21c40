"""Natural levels and controlled descriptions (benchmark-protocol.md section 5)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from lcad_bench.protocol import LEVELS, choose_partial
from lcad_bench.text.levels import controlled_levels, natural_level, rewrite
from lcad_bench.text.lexicon import load_lexicon

BASIC = {e.name for e in load_lexicon().colours.values() if not e.other_sense}


@pytest.mark.parametrize(
    "text,sparse",
    [
        ("a red car", "a car"),
        ("the car is white", "the car"),
        ("an orange cat on a mat", "a cat on a mat"),
        ("a black and white dog running on the beach", "a dog running on the beach"),
        ("a red, white and blue flag", "a flag"),
        ("a boy wearing yellow", "a boy wearing clothes"),
        ("the goalkeeper in orange dives", "the goalkeeper in clothes dives"),
        ("a tan colored teddy bear", "a teddy bear"),
        ("a gold-colored clock", "a clock"),
        ("clothes which are in green and blue color", "clothes"),
        ("a bus that is red parked on the street", "a bus parked on the street"),
        ("the sky is blue and clear", "the sky is clear"),
        ("Red cars on a street.", "Cars on a street."),
        ("a colorful kite in an orange sky", "a kite in a sky"),
        ("the car is not white", "the car"),
        ("a glass of white wine", "a glass of wine"),
        ("an orange on a bench", "an orange on a bench"),
        ("a multi-colored kite", "a kite"),
        ("a dark-green shirt and a light blue hat", "a shirt and a hat"),
    ],
)
def test_sparse_rewrites(extractor, text, sparse):
    assert controlled_levels(extractor.analyse(text)).sparse == sparse


@pytest.mark.parametrize(
    "text,level",
    [
        ("", "none"),
        ("a photo", "none"),
        ("a man riding a skateboard", "sparse"),
        ("a colorful kite flying", "sparse"),
        ("a red car", "complete"),
        ("the car is white", "complete"),
        ("a red car next to a house", "partial"),
        ("a red car next to a white house", "complete"),
    ],
)
def test_natural_level_caption_only(extractor, text, level):
    nl = natural_level(extractor.analyse(text))
    assert nl.level == level and nl.basis == "caption_only"
    if text == "a colorful kite flying":
        assert nl.nonhue_only


def test_natural_level_with_annotations(extractor):
    a = extractor.analyse("a red car next to a house and a dog")
    cat = {"car": "car", "dog": "dog"}.get  # "house" maps to no category: not a mention
    assert natural_level(a).level == "partial"
    assert natural_level(a, category_of=cat).level == "partial"  # dog has no colour
    b = extractor.analyse("a red car next to a white dog on a road")
    nl = natural_level(b, category_of=cat, large_categories={"car", "dog", "person"})
    assert nl.coverage == pytest.approx(2 / 3) and nl.level == "complete"
    nl = natural_level(b, category_of=cat, large_categories={"car", "person", "truck"})
    assert nl.coverage == pytest.approx(1 / 3) and nl.level == "partial"


def _colour_words(text):
    return [w for w in re.findall(r"[a-z]+", text.lower()) if w in BASIC]


def test_partial_keeps_exactly_the_chosen_phrases(extractor):
    text = "a red car, a blue truck, a green bus and a yellow taxi on a gray road"
    a = extractor.analyse(text)
    hue = a.hue_phrases
    assert len(hue) == 5
    seen_subsets = set()
    for pid in range(40):
        d = controlled_levels(a, pair_id=f"pair{pid}", base_seed=0)
        kept = d.kept_phrase_ids
        assert 1 <= len(kept) <= 4
        seen_subsets.add(kept)
        want = [c for p in hue if p.phrase_id in kept for c in p.canonical]
        assert _colour_words(d.partial) == want
        for p in hue:  # objects survive at every level
            assert p.object.head in d.partial and p.object.head in d.sparse
        assert _colour_words(d.sparse) == []
    assert len(seen_subsets) > 5  # the seed changes the subset


def test_partial_rule_matches_the_protocol_formula():
    import hashlib
    import random

    for pid in ("000000414340#0", "x", "demo#3"):
        for m in (2, 3, 7):
            rng = random.Random(
                int.from_bytes(hashlib.sha256(f"partial|5|{pid}".encode()).digest()[:8], "big")
            )
            k = rng.randint(1, m - 1)
            assert choose_partial(m, pid, base_seed=5) == tuple(sorted(rng.sample(range(m), k)))
    assert choose_partial(1, "x") is None and choose_partial(0, "x") is None


def test_k_is_uniform_over_1_to_m_minus_1():
    counts = Counter(len(choose_partial(4, f"p{i}")) for i in range(3000))
    assert set(counts) == {1, 2, 3}
    assert all(900 < c < 1100 for c in counts.values()), counts


def test_deterministic_and_zero_or_one_phrase(extractor):
    a = extractor.analyse("a red car and a blue truck")
    assert controlled_levels(a, "p1", 3) == controlled_levels(
        extractor.analyse("a red car and a blue truck"), "p1", 3
    )
    one = controlled_levels(extractor.analyse("a red car"))
    assert (
        one.partial is None
        and one.sparse == "a car"
        and one.none == ""
        and one.complete == "a red car"
    )
    zero = controlled_levels(extractor.analyse("a car on a road"))
    assert zero.partial is None and zero.sparse == "a car on a road"
    assert set(one.as_dict()) == set(LEVELS)
    with pytest.raises(KeyError):
        one.get("medium")


def test_rewrite_repairs_articles():
    from lcad_bench.text.records import ColorPhrase, ColourTerm

    def ph(s, e):
        return ColorPhrase(0, "R1", (ColourTerm("x", "x", None, (s, e)),), None, removal=((s, e),))

    assert rewrite("an orange umbrella", [ph(3, 9)]) == "an umbrella"
    assert rewrite("an orange car", [ph(3, 9)]) == "a car"
    assert rewrite("a red apple", [ph(2, 5)]) == "an apple"
    assert rewrite("A red apple", [ph(2, 5)]) == "An apple"
    assert rewrite("a red unicorn", [ph(2, 5)]) == "a unicorn"
    assert rewrite("a red hour", [ph(2, 5)]) == "an hour"


# --------------------------------------------------------------------------------------------
# the validator (docs/protocol.md#controlled-levels)


@pytest.mark.parametrize(
    "original,broken,problem",
    [
        ("A bathroom with white and blue.", "A bathroom with.", "dangling preposition"),
        ("The bathroom is small and white.", "The bathroom is small and.", "dangling conjunction"),
        ("A fire hydrant is red.", "A fire hydrant is.", "dangling copula"),
        ("A cat with a pink and fuzzy hat", "A cat with an and fuzzy hat", "dangling article"),
        ("A pink, handmade puppet", "A, handmade puppet", "dangling article"),
        ("a pink one, and a tan one.", "a one, and a tan one.", "article before one"),
        ("a dog, red, and a cat", "a dog,, and a cat", "doubled punctuation"),
        ("Red, a car", ", a car", "leading punctuation"),
        ("a red-colored car", "a - car", "orphan hyphen"),
        ("one is pink one is brown", "one one is brown", "doubled word"),
        ("signs one is green the other red", "signs one the other", "dangling one"),
    ],
)
def test_validator_flags_broken_texts(original, broken, problem):
    from lcad_bench.text.levels import validate

    found = validate(original, broken, allowed_colour_words=10)
    assert any(f.startswith(problem) for f in found), found
    assert validate(original, original, allowed_colour_words=10) == []


def test_validator_compares_with_the_caption_and_counts_colour_words():
    from lcad_bench.text.levels import validate

    # a quirk the caption already has is not introduced by the rewrite
    assert validate("A man with.", "A man with.") == []
    assert validate("a dog next to a red car", "a dog next to a car") == []
    assert validate("a red car and an orange", "a car and an orange", 1) == []
    assert validate("a red car", "a red car")[0].startswith("1 colour words left")
    assert validate("a red car", "a car", 1, exact=True)[0].startswith("0 colour words left")
    assert validate("red", "")[0] == "no word left"


def test_a_failing_text_is_withheld_and_reported():
    from lcad_bench.text.records import Analysis, ColorPhrase, ColourTerm

    text = "A bathroom with white."
    p = ColorPhrase(0, "R1", (ColourTerm("white", "white", "white", (16, 21)),), None,
                    span=(16, 21), removal=((16, 21),))  # fmt: skip
    d = controlled_levels(Analysis(text, (p,)))
    assert d.sparse is None and d.problems and d.problems[0].startswith("sparse: dangling")
    assert d.complete == text and d.get("sparse") is None
