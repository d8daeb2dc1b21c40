"""The colour lexicon table: completeness and reference values against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2lab

from lcad_bench.text.lexicon import ALL_RULES, BASIC_TERMS, load_lexicon

LEX = load_lexicon()


def test_eleven_basic_terms_with_reference_values():
    for term in BASIC_TERMS:
        e = LEX.colours[term]
        assert e.kind == "basic" and e.category == term and e.canonical == term
        assert e.srgb is not None and e.lab is not None
    assert LEX.colours["grey"].canonical == "gray" and LEX.colours["grey"].category == "gray"
    assert LEX.colours["blonde"].canonical == "blond"


def test_lab_values_match_scikit_image():
    for e in LEX.colours.values():
        rgb = np.array(e.srgb, dtype=float)[None, None, :] / 255.0
        ref = rgb2lab(rgb)[0, 0]
        assert np.allclose(e.lab, ref, atol=0.006), (e.name, e.lab, ref)


def test_white_and_red_lab_by_hand():
    # CIELAB of sRGB white is (100, 0, 0); of pure red (53.24, 80.09, 67.20) (D65, 2 deg).
    assert LEX.colours["white"].lab == pytest.approx((100.0, 0.0, 0.0), abs=0.01)
    assert LEX.colours["red"].lab == pytest.approx((53.24, 80.09, 67.20), abs=0.01)


def test_at_least_40_extended_names_each_mapped_to_a_basic_category():
    ext = {e.canonical for e in LEX.colours.values() if e.kind == "extended"}
    assert len(ext) >= 40
    for name in (
        "silver",
        "gold",
        "tan",
        "beige",
        "teal",
        "maroon",
        "navy",
        "turquoise",
        "lavender",
        "olive",
        "cream",
        "bronze",
        "burgundy",
        "blond",
    ):
        assert name in ext
    for e in LEX.colours.values():
        assert e.category in BASIC_TERMS, e
        assert e.cwhr_classes and set(e.cwhr_classes) <= set(BASIC_TERMS), e
    assert LEX.colours["golden"].canonical == "gold"
    assert set(LEX.colours["teal"].cwhr_classes) == {"blue", "green"}


def test_modifiers_nonhue_and_stops():
    for m in (
        "light",
        "dark",
        "bright",
        "pale",
        "deep",
        "pastel",
        "neon",
        "vivid",
        "dull",
        "faded",
        "hot",
    ):
        assert m in LEX.modifiers
    for w in ("colorful", "multicolored", "striped", "plaid", "checkered", "rainbow"):
        e = LEX.nonhue[w]
        assert not e.is_hue and not e.category
    assert "gold medal" in LEX.stops and "white wine" in LEX.stops
    assert "black and white photo" in LEX.stops and "White House" in LEX.stops
    assert LEX.colours["navy"].rules < ALL_RULES and "R1" not in LEX.colours["navy"].rules
    assert LEX.colours["orange"].other_sense and not LEX.colours["red"].other_sense
    assert LEX.colours["reddish"].implied_modifier == "ish"


def test_every_source_is_recorded():
    for e in LEX.colours.values():
        assert e.source, e.name
