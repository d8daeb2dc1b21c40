"""Word lists of the colour-phrase rules, read from ``resources/extraction_words.tsv`` (one
``list<TAB>word`` row per word, so the lists are data that can be reviewed and diffed)."""

from __future__ import annotations

from collections import defaultdict
from importlib import resources

WORDS_FILE = "extraction_words.tsv"


def _load() -> dict[str, frozenset[str]]:
    lists: dict[str, set[str]] = defaultdict(set)
    text = resources.files("lcad_bench").joinpath("resources", WORDS_FILE).read_text("utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, word = line.split("\t")
        lists[name].add(word)
    return {k: frozenset(v) for k, v in lists.items()}


_LISTS = _load()
COLORED_WORDS = _LISTS["colored_words"]
CHAIN_JOINERS = _LISTS["chain_joiners"]
PRED_VERBS = _LISTS["pred_verbs"]
PRED_DEPS = _LISTS["pred_deps"]
WEAR_VERBS = _LISTS["wear_verbs"]
DRESS_VERBS = _LISTS["dress_verbs"]
REL_PRONOUNS = _LISTS["rel_pronouns"]
PERSON_NOUNS = _LISTS["person_nouns"]
GARMENT_NOUNS = _LISTS["garment_nouns"]
PHOTO_WORDS = _LISTS["photo_words"]
MENTION_STOP = _LISTS["mention_stop"]
OBJECT_NOUNS = _LISTS["object_nouns"]
IRREGULAR_PLURALS = dict(w.split("=", 1) for w in _LISTS["irregular_plurals"])
VERB_LIKE_NOUNS = _LISTS["verb_like_nouns"]
PART_NOUNS = _LISTS["part_nouns"]
HEAD_BACKOFF = _LISTS["head_backoff"]
HAIR_COLOURS = _LISTS["hair_colours"]
EMIT_VERBS = _LISTS["emit_verbs"]
COPULA_VERBS = _LISTS["copula_verbs"]
SHADE_WORDS = _LISTS["shade_words"]
QUANTITY_NOUNS = _LISTS["quantity_nouns"]
FOOD_NOUNS = _LISTS["food_nouns"]
ETHNIC_COLOURS = _LISTS["ethnic_colours"]
DEGREE_WORDS = _LISTS["degree_words"]
TINT_WORDS = _LISTS["tint_words"]
NUMBER_WORDS = _LISTS["number_words"]
BODY_PART_NOUNS = _LISTS["body_part_nouns"]
ANIMAL_CATEGORIES = _LISTS["animal_categories"]
HUE_COMPOUND_COLOURS = frozenset(tuple(w.split("=", 1)) for w in _LISTS["hue_compound_colours"])
PARTICLE_MODIFIERS = _LISTS["particle_modifiers"]
INFINITIVE_VERBS = _LISTS["infinitive_verbs"]
APPLIANCE_NOUNS = dict(w.split("=", 1) for w in _LISTS["appliance_nouns"])
