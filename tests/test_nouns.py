"""The scene-noun gazetteer and the object-mention finder (lcad_bench.text.nouns)."""

from __future__ import annotations

from lcad_bench.text.lexicon import load_lexicon
from lcad_bench.text.nouns import category_of_object, find_mentions, gazetteer, singular

COLOURS = load_lexicon().colour_bearing


def mentions(text, phrases=()):
    return [(m.text, m.lemma, m.has_colour) for m in find_mentions(text, COLOURS, phrases)]


def test_gazetteer_holds_coco_categories_synonyms_and_scene_nouns():
    gz = gazetteer()
    for w in ("oven", "toucan", "bedding", "surfboard", "poodle", "hydrant", "wall", "sky"):
        assert gz.lemma(w) == w
    assert gz.lemma("buses") == "bus" and gz.lemma("benches") == "bench"
    assert gz.lemma("people") == "person" and gz.lemma("knives") == "knife"
    assert gz.lemma("red") is None and gz.lemma("quickly") is None
    words = ["the", "yellow", "pick", "up", "truck"]
    assert gz.match_multi(words, 2) == 5
    assert gz.match_multi(["two", "teddy", "bears"], 1) == 3
    assert singular("glasses") == "glass" and singular("bus") == "bus"


def test_mentions_are_noun_runs_without_verbs_or_stop_words():
    assert mentions("a man stands next to a red fire hydrant") == [
        ("man", "man", False),
        ("fire hydrant", "fire hydrant", False),
    ]
    assert mentions("A photo of a bathroom mirror") == [("bathroom mirror", "mirror", False)]
    assert mentions("a man ready to surf rides a wave") == [
        ("man", "man", False),
        ("wave", "wave", False),
    ]
    assert mentions("an orange on a bench") == [("bench", "bench", False)]  # colour word: no
    assert mentions("") == [] and mentions("🚗 !!") == []


def test_mentions_carry_the_phrases_of_their_heads(extractor):
    text = "a red car next to a house and a teddy bear"
    a = extractor.analyse(text)
    assert mentions(text, a.phrases) == [
        ("car", "car", True),
        ("house", "house", False),
        ("teddy bear", "teddy bear", False),
    ]
    assert [m.text for m in a.mentions] == ["car", "house", "teddy bear"]


def test_category_of_object():
    assert category_of_object("fire hydrant", "hydrant", "hydrant") == "fire hydrant"
    assert category_of_object("teddy bear", "bear", "bear") == "teddy bear"
    assert category_of_object("man", "man", "man") == "person"
    assert category_of_object("shirt", "shirt", "shirt") is None
