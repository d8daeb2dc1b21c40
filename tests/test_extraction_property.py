"""Property tests: extraction never raises on arbitrary unicode, spans always slice the input,
and sparse descriptions never keep a colour word."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcad_bench.text.lexicon import load_lexicon

LEX = load_lexicon()
COLOUR_WORDS = sorted(LEX.colour_bearing)
# words that have another sense when they head their own phrase ("an orange", "the navy") stay
OTHER_SENSE = {e.name for e in LEX.colours.values() if e.other_sense} | {
    e.name for e in LEX.nonhue.values() if e.other_sense
}
WORDS = COLOUR_WORDS + [
    "a",
    "the",
    "and",
    "car",
    "dog",
    "is",
    "in",
    "wearing",
    "colored",
    "color",
    "shirt",
    "man",
    "-",
    ",",
    ".",
    "light",
    "dark",
    "not",
    "of",
    "photo",
    "navy",
    "😀",
    "مرحبا",
    "\u200f",
    "\x00",
    "\t",
    "\n",
]
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=30).map(" ".join),
)
WORD_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def check(extractor, text):
    from lcad_bench.text.levels import controlled_levels

    a = extractor.analyse(text)
    for p in a.phrases:
        for c in p.colours:
            assert text[c.span[0] : c.span[1]] == c.text
            for m, (s, e) in zip(c.modifiers, c.modifier_spans):
                assert m == "ish" or text[s:e].lower() == m
        if p.object is not None:
            assert text[p.object.span[0] : p.object.span[1]] == p.object.text
            assert text[p.object.head_span[0] : p.object.head_span[1]] == p.object.head
        for s, e in p.removal:
            assert 0 <= s <= e <= len(text)
    for m in a.mentions:
        assert text[m.span[0] : m.span[1]] == m.text
    assert extractor.extract(text) == list(a.phrases)
    d = controlled_levels(a, pair_id="p")
    assert d.none == "" and d.complete == text
    if d.sparse is None:  # the validator withheld a broken text and said why
        assert any(p.startswith("sparse: ") for p in d.problems), d.problems
        return a
    assert not any(p.startswith("sparse: ") for p in d.problems)
    leftover = {w.lower() for w in WORD_RE.findall(d.sparse)} & set(COLOUR_WORDS)
    assert leftover <= OTHER_SENSE, (text, d.sparse, leftover)
    assert extractor.extract(d.sparse) == [] or leftover, (text, d.sparse)
    return a


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_arbitrary_text_never_raises(extractor, text):
    check(extractor, text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "red " * 1250,  # 5,000 characters
        ("a red car and a blue truck, " * 200)[:5000],
        "a 🚗 red car 😀 next to a 🟦 blue bus",
        "سيارة حمراء a red car \u202e reversed \u202c",
        "a red\x00car\x07 with\tblue\nlines\r\n",
        "\u200b\u200d\ufeffred",
        "RED CAR. Blue-Green-White flag!!!",
        "a multi-colored, multi- colored, multicoloured kite",
        "the the the is is is red red red",
    ],
)
def test_hard_inputs(extractor, text):
    check(extractor, text)
