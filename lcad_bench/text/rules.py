"""The colour-phrase rule engine over one parsed spaCy ``Doc`` (docs/protocol.md#colour-phrase-extraction).

``extract(text)`` / ``extract_many(texts)`` return, per caption, the :class:`ColorPhrase` records
found in it; ``analyse(text)`` / ``analyse_many(texts)`` also return the object mentions the
description levels need. All spans are 0-based, end-exclusive character offsets into the input,
so ``text[start:end]`` is always the reported text.

The small spaCy model mis-tags object nouns ("a white oven/ADJ", "a green fire hydrant/ADJ") and
mis-attaches predicates, so the rules read word order first and the parse second, and a gazetteer
of scene nouns (:mod:`lcad_bench.text.nouns`) overrides the tagger for object heads. How a colour
word is linked to its object (rules of the protocol; the ``rule`` field records which one fired,
``+gz`` when the gazetteer recovered a mis-tagged head, ``+pos`` when a predicate was found by
word order rather than by the parse's arcs):

* R1  the colour directly modifies a noun ("a red bus"): the noun run right after the colour,
  failing that the ``amod``/``compound``/``nmod`` arc; a flower/fruit word right after a colour
  and before no noun is that noun ("a single white rose");
* R2  a chain of colours joined by "and", "or", commas, slashes or hyphens ("black and white dog",
  "red white and blue flag") is one phrase with several colours (attributive chains take R2);
* R3  a predicate after be/look/appear/seem/turn/painted/glows, in any inflection and after
  "to" ("the car is white", "a wall painted green", "is small and white and gray", "waiting for
  the light to turn green"): the subject, a relative pronoun resolving to the noun its clause
  modifies, a participle to the noun it follows, an infinitive to the noun before "to";
* R4  "X-colored", "X colored", "X color" before a noun;
* R5  "in X color(s)" / "X in color" / "decorated/painted/done/lit in X" / "in shades of X": the
  noun before "in" (the first of coordinated nouns), else the verb's subject;
* R6  a colour as garment ("wearing yellow", "dressed in blue", "someone in green"): the wearer,
  with ``garment=True``;
* R7  compound objects keep their compound words ("a red fire hydrant" -> "fire hydrant");
* R8  anaphoric "one" ("next to a brown one"): the object is "one", its lemma the antecedent's;
* R9  an elided noun ("a black and a white sheep"): both colours go to the shared noun.

Modifiers (light, dark, sky in "sky blue", the ``ish`` of "reddish") attach to their colour.
A negated colour ("not red") drops its phrase. Stop phrases of the lexicon ("gold medal",
"white wine") and "black and white photo" are not colour phrases; the latter sets
``bw_photo_mention``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from lcad_bench.text.lexicon import ALL_RULES, Lexicon, load_lexicon
from lcad_bench.text.nouns import find_mentions, gazetteer, synonym_table
from lcad_bench.text.records import (
    Analysis,
    ColorPhrase,
    ColourTerm,
    ObjectRef,
    Span,
)
from lcad_bench.text.wordlists import (
    ANIMAL_CATEGORIES,
    APPLIANCE_NOUNS,
    BODY_PART_NOUNS,
    CHAIN_JOINERS,
    COLORED_WORDS,
    COPULA_VERBS,
    DEGREE_WORDS,
    DRESS_VERBS,
    EMIT_VERBS,
    ETHNIC_COLOURS,
    FOOD_NOUNS,
    GARMENT_NOUNS,
    HEAD_BACKOFF,
    HUE_COMPOUND_COLOURS,
    INFINITIVE_VERBS,
    NUMBER_WORDS,
    PARTICLE_MODIFIERS,
    PERSON_NOUNS,
    PHOTO_WORDS,
    PRED_DEPS,
    PRED_VERBS,
    QUANTITY_NOUNS,
    REL_PRONOUNS,
    SHADE_WORDS,
    TINT_WORDS,
    VERB_LIKE_NOUNS,
    WEAR_VERBS,
)

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc, Token

RULES_VERSION = "2"

_NOUN_POS = ("NOUN", "PROPN")
_HYPHENS = ("-", "–")
_JOIN_WORDS = ("and", "or", ",", "/", "&", "-")
_DETS = ("a", "an", "the", "another", "one", "two", "some", "its", "his", "her", "their", "this")
_GLUED = re.compile(r"^([^\W\d_]{2,})\.[^\W\d_]+$")
_MULTI = ("multi", "multiple")
_INTENSIFIERS = ("very", "really", "quite", "rather", "fairly", "extremely", "so", "pretty")
_DEGREE = DEGREE_WORDS  # "an all white kitchen": removed with the colour, not a modifier
_NOT_ATTRIBUTIVE = ("having", "being", "getting", "doing")  # participles never before a noun
_INDEFINITES = ("something", "anything", "everything")
# prepositions of place that may follow a post-nominal colour ("a train yellow and black on
# the tracks")
_PLACE = ("on", "in", "at", "with", "near", "by", "under", "over", "behind", "against", "next")
_IN_VERBS = ("decorate", "paint", "do", "light", "trim", "accent", "color", "colour", "tint")


# --------------------------------------------------------------------------------------------
# fast pre-filter: a caption without any lexicon word cannot yield a phrase


@cache
def _prefilter() -> re.Pattern[str]:
    lex = load_lexicon()
    words = set(lex.words(("basic", "extended", "nonhue"))) | COLORED_WORDS
    alt = "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
    # A spaCy token equal to a word is never glued to another letter in the text, so a match
    # bounded by non-letters is a superset of every token the extractor can look at.
    return re.compile(rf"(?<![^\W\d_])(?:{alt})(?![^\W\d_])")


def may_contain_colour(text: str) -> bool:
    """Cheap test: False means :func:`extract` is certain to return no phrase."""
    return _prefilter().search(text.lower()) is not None


@dataclass
class _Res:
    """How one chain resolved (token indices; rem_* inclusive)."""

    rule: str
    obj: int | None
    end: int
    rem_start: int
    rem_end: int
    run_start: int | None = None
    garment: bool = False
    replacement: str = ""
    verb: Token | None = None
    recovered: bool = False
    how: str = ""  # "+pos" when found by word order
    lemma: str | None = None  # object lemma override (R8: the antecedent's)
    glued: bool = False  # R6 from a hyphen compound ("a white-clad player")


# --------------------------------------------------------------------------------------------
# the extractor


class _Extractor:
    def __init__(
        self, doc: Doc, lex: Lexicon, lemmatize: Callable[[Token], str] | None = None
    ) -> None:
        self.doc = doc
        self.text = doc.text  # Doc.text joins every token: read it once
        self.lex = lex
        self._lemmatize = lemmatize
        self.n = len(doc)
        self.low = [t.lower_ for t in doc]
        self.texts = [t.text for t in doc]
        self.space = [x.isspace() for x in self.texts]  # Token.is_space, without the call
        self.starts = [t.idx for t in doc]
        self.ends = [a + len(x) for a, x in zip(self.starts, self.texts)]
        self._neg_heads: set[int] | None = None
        self.log: list[str] = []
        self.bw_photo = False
        self.negated_removals: list[Span] = []
        self.nonsense: set[int] = set()  # colour words read in another sense ("a white rose")
        self.kept_stop_tokens: set[int] = set()  # words of stop phrases marked keep
        self.kept_spans: list[Span] = []  # set by strays(): kept words outside phrases
        self.prev_obj: int | None = None  # object token of the last resolved hue phrase
        gz = gazetteer()
        self.gz: list[str | None] = [
            None if w in lex.colour_bearing else gz.lemma(w) for w in self.low
        ]
        # "a white carriage.on the street": a missing space after a full stop glues two words
        # into one token; its first word is the noun, the token ends the noun run
        self.cut: dict[int, int] = {}
        for i, w in enumerate(self.low):
            m = _GLUED.match(w)
            if m and self.gz[i] is None and m.group(1) not in lex.colour_bearing:
                lem = gz.lemma(m.group(1))
                if lem is not None:
                    self.gz[i] = lem
                    self.cut[i] = len(m.group(1))
        # multi-word gazetteer nouns ("fire hydrant", "pick up truck"), hyphens skipped
        pos = [i for i, w in enumerate(self.low) if w not in _HYPHENS]
        words = [self.low[i] for i in pos]
        self.mw_last: dict[int, int] = {}
        for p, i in enumerate(pos):
            if words[p] in gz.multi:
                end = gz.match_multi(words, p)
                if end is not None and not any(w in lex.colour_bearing for w in words[p:end]):
                    e = doc[pos[end - 1]]
                    if (
                        e.tag_ == "VBZ"
                        and e.pos_ == "VERB"
                        and self._lem(e) != e.lower_
                        and self._singular_np(i)
                    ):
                        continue  # "a bus stops to take on passengers": the verb, not "bus stop"
                    self.mw_last[i] = pos[end - 1]

    # -- small helpers ------------------------------------------------------------------------
    def _lem(self, t: Token) -> str:
        """The token's lemma (computed on demand when the pipeline ran without its lemmatizer,
        see :class:`lcad_bench.text.nlp.FastAnnotator`)."""
        lemma = t.lemma_
        if not lemma and self._lemmatize is not None:
            lemma = self._lemmatize(t)
        return lemma

    def _span(self, i: int, j: int) -> Span:
        """Character span of tokens i..j inclusive."""
        d = self.doc
        return (d[i].idx, d[j].idx + len(d[j].text))

    def _next(self, i: int, skip_hyphen: bool = True) -> int:
        """The next token after i, past whitespace tokens (a caption's double spaces) and,
        with ``skip_hyphen``, hyphens."""
        j = i + 1
        while j < self.n and (self.space[j] or (skip_hyphen and self.low[j] in _HYPHENS)):
            j += 1
        return j

    def _is_noun(self, i: int) -> bool:
        """A noun by the tagger or by the gazetteer (colour words only when tagged)."""
        if not 0 <= i < self.n:
            return False
        return self.doc[i].pos_ in _NOUN_POS or self.gz[i] is not None

    def _singular_np(self, k: int) -> bool:
        """The noun phrase that token k continues opens with a singular determiner ("a", "an",
        "one", "this", "that", "each", "every"), found by walking left over nouns, adjectives,
        adverbs, colour words and their joiners: then a plural-looking noun at k ("a yellow bus
        parks", "a bright yellow bus stops") is a verb."""
        low, doc = self.low, self.doc
        j = k - 1
        while j >= 0:
            w = low[j]
            if w in ("a", "an", "one", "this", "that", "each", "every"):
                return True
            t = doc[j]
            if t.pos_ in ("DET", "NUM") or t.tag_ == "PRP$":
                return False
            if not (
                t.pos_ in ("ADJ", "ADV", *_NOUN_POS)
                or self.gz[j] is not None
                or w in self.lex.colour_bearing
                or w in self.lex.modifiers
                or w in _HYPHENS
                or w in ("and", ",", "or")
                or self.space[j]
            ):
                return False
            j -= 1
        return False

    def _is_person(self, t: Token) -> bool:
        return t.lower_ in PERSON_NOUNS or self._lem(t).lower() in PERSON_NOUNS

    def _stop_tokens(self) -> set[int]:
        """Token indices inside lexicon stop phrases; sets bw_photo for "black and white photo"."""
        out: set[int] = set()
        texts = self.texts
        for i, w in enumerate(self.low):
            for words, case_sensitive, phrase in self.lex.stops_by_word.get(w, ()):
                seq = texts if case_sensitive else self.low
                key = w if not case_sensitive else texts[i]
                if key not in words:
                    continue
                k = words.index(key)
                start = i - k
                if start < 0 or start + len(words) > self.n:
                    continue
                if tuple(seq[start : start + len(words)]) == words:
                    out.update(range(start, start + len(words)))
                    if self.lex.stops[phrase].keep:
                        self.kept_stop_tokens.update(range(start, start + len(words)))
                    if self.lex.stops[phrase].canonical == "bw photo":
                        self.bw_photo = True
        return out

    def _colour_tokens(self, stopped: set[int]) -> dict[int, str]:
        """Candidate colour tokens -> their lexicon key (hue, non-hue, or 'multicolored')."""
        lex = self.lex
        cand: dict[int, str] = {}
        for i, w in enumerate(self.low):
            if i in stopped:
                continue
            if (w in lex.colours or w in lex.nonhue) and self._in_name(i):
                self.nonsense.add(i)  # "Red Stripe beer", "a Gold Coast Tour bus"
                continue
            if w in lex.colours or w in lex.nonhue:
                if w in ("checked",) and not self._is_noun(self._next(i)):
                    continue  # "checked" is non-hue only when it modifies a noun
                e = lex.colours.get(w)
                k = self._next(i)  # "wine-filled glasses": a hyphen may glue the participle
                if (
                    e is not None
                    and e.other_sense
                    and e.rules != ALL_RULES
                    and k < self.n
                    and self.low[k] not in COLORED_WORDS
                    and (self.doc[k].tag_ == "VBN" or self.low[k].endswith("ed"))
                ):
                    # a food/material word before a participle: "a cream based soup",
                    # "chocolate covered donuts" (not "cream colored")
                    self.nonsense.add(i)
                    continue
                if (
                    e is not None
                    and e.other_sense
                    and (self._food_sense(i) or self._np_head(i) or self._list_noun(i))
                ):
                    self.nonsense.add(i)  # "an orange wedge", "a chocolate dessert", "an orange"
                    continue
                cand[i] = w
            elif w in ("colored", "coloured"):
                # "multi-colored" / "multi colored" and bare "colored pencils" are non-hue
                prev = i - 1
                while prev >= 0 and self.low[prev] in ("-",):
                    prev -= 1
                if prev >= 0 and self.low[prev] in _MULTI:
                    cand[i] = "multicolored"
                elif prev >= 0 and (self.low[prev] in lex.colours):
                    continue  # "X colored": part of R4
                elif self._is_noun(self._next(i)) or self.doc[i].dep_ in ("acomp", "amod"):
                    cand[i] = "colored"
        return cand

    def _in_name(self, i: int) -> bool:
        """A capitalised colour word inside a capitalised name: not first in its sentence,
        followed by a capitalised word that is not a scene noun, in a caption that is not
        written in title case or capitals ("potatoes, and Red Stripe beer", "a Gold Coast Tour
        bus"; "An Orange bus" and "A Red Bus" stay colours)."""
        doc = self.doc
        t = doc[i].text
        if not (t[:1].isupper() and t[1:].islower()) or i == 0:
            return False
        if self.low[i - 1] in (".", "!", "?", '"', ":", ";") or doc[i - 1].is_space:
            return False
        k = i + 1
        if k >= self.n:
            return False
        nt = doc[k].text
        if not (nt[:1].isupper() and nt[1:].islower() and nt.isalpha()):
            return False
        if self.low[k] in self.lex.colour_bearing:
            return False
        if self.gz[k] is not None:
            # a scene noun after the colour is its head ("a Red Bus") unless the capitalised
            # words modify a noun after them: "Red Stripe beer"
            j = k + 1
            while j < self.n and doc[j].text[:1].isupper() and doc[j].is_alpha:
                j += 1
            if not (j < self.n and doc[j].text.islower() and self.gz[j] is not None):
                return False
        words = [x for x in doc if x.is_alpha]
        return sum(x.text[:1].isupper() for x in words) * 2 < len(words)

    def _np_head(self, i: int) -> bool:
        """A colour word with a noun sense heading its own noun phrase after an article ("there
        is an orange growing", "the navy"): no noun, colour, joiner or 'colored' after it, and
        no -ing word that begins a compound noun ("an orange sleeping bag", "a lime cutting
        board": the -ing word is followed by a noun)."""
        if not (i >= 1 and self.low[i - 1] in ("a", "an", "the", "another")):
            return False
        k = self._next(i)
        if k >= self.n:
            return True
        w = self.low[k]
        return not (
            self._is_noun(k)
            or w in self.lex.colour_bearing
            or w in _JOIN_WORDS
            or w in COLORED_WORDS
            or self.doc[k].pos_ in ("ADJ", "NUM")
            or self._ing_compound(k)
        )

    def _ing_compound(self, k: int) -> bool:
        """Token k is the -ing word of a compound noun: the first word of a multi-word
        gazetteer noun ("sleeping bag", "cutting board", "frying pan", "washing machine"). Only
        listed compounds: an -ing word before any noun is as often a gerund with the colour
        word as its object ("a wine tasting event", "orange picking season")."""
        return self.low[k].endswith("ing") and k in self.mw_last

    def _flavour_of_food(self, i: int, cand: dict[int, str], res: _Res) -> bool:
        """A colour word with a food sense (lexicon ``S`` with restricted rules: chocolate,
        cream, lime, peach, mustard, ...) as the predicate of a food noun, or of a number or
        pronoun standing for a food named before it ("a dozen doughnuts ... two are
        chocolate")."""
        e = self.lex.colours.get(cand[i])
        if e is None or not e.other_sense or e.rules == ALL_RULES:
            return False
        subj: int | None = res.obj
        if subj is None and res.verb is not None:
            sv = self._subject_of(res.verb)
            subj = sv.i if sv is not None else None
        if subj is None:
            return False
        w = self.low[subj]
        if w in FOOD_NOUNS or (self.gz[subj] or "") in FOOD_NOUNS:
            return True
        if self.doc[subj].pos_ in ("NUM", "PRON") or w in ("one", "ones", "some", "others"):
            return any(self.low[k] in FOOD_NOUNS for k in range(subj))
        return False

    def _glued_tail(self, i: int) -> int | None:
        """The adjective glued to colour token i by a hyphen ("green-eyed", "white-clad",
        "black-rimmed", "blue-illuminated"): the index of that word, or None when there is no
        such word (a colour, "colored", or a noun: "red-brick" keeps "brick")."""
        low, doc = self.low, self.doc
        h = i + 1
        w = h + 1
        if not (
            w < self.n
            and low[h] in _HYPHENS
            and not doc[i].whitespace_
            and not doc[h].whitespace_
            and doc[w].is_alpha
        ):
            return None
        x = low[w]
        if x in self.lex.colour_bearing or x in COLORED_WORDS or x in self.lex.modifiers:
            return None
        if doc[w].pos_ in _NOUN_POS and not x.endswith("ed") or self.gz[w] is not None:
            return None
        if x.endswith("ed") or x in ("clad", "lit") or doc[w].pos_ in ("ADJ", "VERB"):
            return w
        return None

    def _garment_compound(self, last: int) -> _Res | None:
        """R6 for a garment compound: "a white-clad tennis player", "a red-shirted team" (the
        glued word is clad/dressed/clothed or a garment noun + -ed): the wearer is the noun
        after it; the whole compound goes at sparse. Written without the hyphen ("a white
        suited snowboarder", "yellow shirted tennis player") the wearer must be a person
        noun ("a red capped bottle" is not a garment)."""
        t = self._glued_tail(last)
        person = False
        if t is None:
            t = last + 1
            if not (t < self.n and self.low[t].endswith(("ed", "clad"))):
                return None
            person = True
        x = self.low[t]
        stem = x[:-2] if x.endswith("ed") else x
        if not (
            x in ("clad", "dressed", "clothed", "attired")
            or stem in GARMENT_NOUNS
            or stem[:-1] in GARMENT_NOUNS  # "capped", "hatted"
            or stem + "e" in GARMENT_NOUNS  # "robed"
        ):
            return None
        hr = self._noun_run_head(t + 1)
        if hr is None or (person and not self._is_person(self.doc[hr[0]])):
            return None
        return _Res("R6", hr[0], t, 0, t, garment=True, glued=True, run_start=t + 1)

    def _an_joins(self, gap: list[int], i: int) -> bool:
        """ "an" typed for "and" between two colours: "black an white", "a yellow an red
        train" (an article would stand before a vowel sound, not before "white" or "red")."""
        return (
            len(gap) == 1
            and self.low[gap[0]] == "an"
            and i < self.n
            and self.low[i][:1] not in ("a", "e", "i", "o", "u")
        )

    def _list_noun(self, i: int) -> bool:
        """A colour word with a noun sense as an item of a list of nouns ("a papaya, orange and
        bruised banana", "marshmallows, chocolate, and other treats", "mango and orange and
        ripe bananas"): a noun and a joiner before it, a joiner or the end after it, and no
        colour word on either side (then it is a colour list: "red, orange and yellow")."""
        low = self.low
        p = i - 1
        if not (p >= 1 and low[p] in (",", "and") and self._is_noun(p - 1)):
            return False
        if low[p - 1] in self.lex.colour_bearing or self.doc[p - 1].pos_ not in _NOUN_POS:
            return False
        k = self._next(i)
        if k < self.n and low[k] not in (",", "and", "or", "."):
            return False
        a = k + 1
        while a < self.n and low[a] in ("and", "or", ","):
            a += 1
        return not (a < self.n and low[a] in self.lex.colour_bearing)

    def _food_sense(self, i: int) -> bool:
        """A colour word with a food/fruit sense right before a food noun ("orange wedge",
        "chocolate dessert", "lime slices") or coordinated with a noun whose run ends in a
        food noun ("chocolate and whip cream", "orange and banana slices"), not inside a colour
        chain ("white and orange cake" stays a colour)."""
        k = self._next(i)
        if k < self.n and self.low[k] in ("and", "or", "&"):
            j = self._next(k)
            if j >= self.n or self.low[j] in self.lex.colour_bearing or not self._is_noun(j):
                return False
            k = j  # the last noun of the run ("whip cream": a food word may be a colour word)
            while k + 1 < min(self.n, j + 3) and self._is_noun(k + 1):
                k += 1
        if not (k < self.n and self.low[k] in FOOD_NOUNS):
            return False
        p = i - 1
        while p >= 0 and self.low[p] in _JOIN_WORDS:
            p -= 1
        return not (p >= 0 and p < i - 1 and self.low[p] in self.lex.colours)

    def _modifier_tokens(self, i: int, cand: dict[int, str]) -> list[int]:
        """Modifiers of colour token i: words right before it (a hyphen may sit between) that are
        lexicon modifiers, hue-compound words, -ly adverbs of non-hue words, or noun-sense colour
        words in a hue compound ("navy blue"); plus tree children that are lexicon modifiers."""
        lex = self.lex
        mods: list[int] = []
        j = i - 1
        if cand.get(i) == "multicolored" and self.low[i] in ("colored", "coloured"):
            while j >= 0 and self.low[j] in ("-", "–", *_MULTI):
                j -= 1  # "multi-colored" is one term; its first tokens are part of it
        while j >= 0:
            w = self.low[j]
            if w in _HYPHENS or self.space[j]:
                j -= 1
                continue
            e = lex.colours.get(w)
            if (
                # not a verb's particle: "letting off white smoke" ("an off white bathroom")
                (w in lex.modifiers and not (w in PARTICLE_MODIFIERS and self.doc[j].tag_ == "RP"))
                or (w in lex.hue_compounds and self._qualifies(w, cand.get(i)))
                or e is not None
                and j in cand
                and self._hue_compound_modifier(j, i, cand)
                or w in _DEGREE  # "all white", "half pink and half yellow"
            ):
                mods.append(j)
            elif (
                j + 2 < self.n
                and self.low[j + 1] in _HYPHENS
                and j + 2 == (mods[-1] if mods else i)
                and not self.doc[j].whitespace_
                and not self.doc[j + 1].whitespace_
                and self.doc[j].is_alpha
                and j not in cand
            ):
                # a word glued to the colour word by a hyphen is part of it ("caramel-colored",
                # "thin-striped", "jet-black")
                mods.append(j)
            elif (
                w in ("and", "or")
                and mods
                and mods[-1] == j + 1
                and self.low[j + 1] in lex.modifiers
                and j >= 1
                and self.low[j - 1] in lex.modifiers
                and j - 1 not in cand
            ):
                mods.append(j)  # coordinated modifiers: "dark and light blue frosting"
            elif cand.get(i) in lex.nonhue or cand.get(i) == "colored":
                if w.endswith("ly") and w not in ("only", "family", "early"):
                    mods.append(j)
                else:
                    break
            else:
                break
            j -= 1
        for ch in self.doc[i].children:
            if ch.i not in mods and ch.i < i and ch.lower_ in lex.modifiers and ch.i >= i - 3:
                mods.append(ch.i)
        return sorted(mods)

    def _qualifies(self, word: str, key: str | None) -> bool:
        """Hue-compound word ``word`` qualifies the colour with lexicon key ``key``
        (``hue_compound_colours``: "baby blue", "sky blue", "brick red"; not "a baby black
        bear")."""
        e = self.lex.colours.get(key or "")
        if e is None:
            return False
        return (word, e.canonical) in HUE_COMPOUND_COLOURS or (
            word,
            e.category,
        ) in HUE_COMPOUND_COLOURS

    def _hue_compound_modifier(self, j: int, i: int, cand: dict[int, str]) -> bool:
        """Is colour token j a modifier of the colour token i that follows it ("navy blue")?"""
        lex = self.lex
        wj, wi = self.low[j], self.low[i]
        ej, ei = lex.colours.get(wj), lex.colours.get(wi)
        if ej is None or ei is None:
            return False
        between = self.low[j + 1 : i]
        if any(b not in _HYPHENS for b in between):
            return False
        if ej.implied_modifier:  # "reddish brown"
            return True
        # noun-sense colour words (restricted rules with HC) qualify a following colour:
        # "navy blue", "lime green", "olive green"
        return ej.rules != ALL_RULES and "HC" in ej.rules

    def _chains(self, cand: dict[int, str], modifier_of: dict[int, int]) -> list[list[int]]:
        """Group colour tokens joined by and/or/commas/hyphens into chains (R2)."""
        heads = sorted(i for i in cand if i not in modifier_of)
        chains: list[list[int]] = []
        for i in heads:
            if chains:
                prev = chains[-1][-1]
                gap = [k for k in range(prev + 1, i) if modifier_of.get(k) != i]
                same_kind = (cand[prev] in self.lex.colours) == (cand[i] in self.lex.colours)
                joiners_ok = all(self.low[k] in CHAIN_JOINERS for k in gap) or self._an_joins(
                    gap, i
                )
                ends_with_with = bool(gap) and self.low[gap[-1]] == "with"
                has_joiner = (
                    not gap
                    or any(self.low[k] in _JOIN_WORDS for k in gap)
                    or self._an_joins(gap, i)
                )
                if same_kind and joiners_ok and len(gap) <= 3 and not ends_with_with and has_joiner:
                    chains[-1].append(i)
                    continue
            chains.append([i])
        return chains

    # -- heads ----------------------------------------------------------------------------------
    def _attributive(self, m_first: int) -> bool:
        """A colour that may modify a noun across a comma ("a bright red, very small plane"):
        not after a verb ("first part is red, back part ...")."""
        return not (m_first >= 1 and self.doc[m_first - 1].pos_ in ("VERB", "AUX"))

    def _verb_like(self, k: int, object_follows: bool = False) -> bool:
        """A noun-tagged word that reads as a verb after a noun ("a kite flies in the sky",
        "a surfboard riding wave"; with ``object_follows`` also before a noun: "a fire hydrant
        sprays water")."""
        w = self.low[k]
        if w.endswith("ing"):
            return True
        after = ("ADP", "ADV", "PART", "DET", "PRON", "PUNCT", "AUX")
        if k + 2 < self.n and self.low[k + 1] in ("'s", "\u2019s"):
            # "a white bird fly's in the air": a verb written with an apostrophe
            return self.doc[k + 2].pos_ in after and self.doc[k + 2].pos_ != "PART"
        inflected = (w.endswith("s") and not w.endswith(("ss", "us", "is"))) or w.endswith("ed")
        if not inflected:
            return False
        nxt = self.doc[k + 1] if k + 1 < self.n else None
        return (
            nxt is None
            or nxt.pos_ in after
            or (object_follows and (nxt.pos_ in _NOUN_POS or self.gz[k + 1] is not None))
        )

    def _noun_run_head(self, start: int, comma: bool = False) -> tuple[int, bool] | None:
        """The head noun of the noun run beginning at ``start`` and whether the gazetteer
        recovered it: adjectives, nouns, numbers and hyphens up to the last noun before anything
        else ("red double decker bus" -> bus). Gazetteer nouns count whatever their tag ("a white
        oven/ADJ", "white bedding/VERB"), except finite verbs after a noun ("a dog stands");
        a tagged noun that is not in the gazetteer and reads as a verb after a gazetteer noun
        ends the run ("a red kite flies"); a run ending in a view word backs off ("living room
        view" -> room)."""
        doc, low, lex = self.doc, self.low, self.lex
        k = start
        if (
            comma
            and k + 1 < self.n
            and low[k] == ","
            and (
                doc[k + 1].pos_ in ("ADJ", "ADV", *_NOUN_POS)
                or self.gz[k + 1] is not None
                or (doc[k + 1].tag_ in ("VBG", "VBN") and self._is_noun(k + 2))
            )
        ):
            # "a bright red, very small plane", "brown, leather furniture", "green, peeling
            # paint"
            k += 1
        last = None
        nouns: list[int] = []
        lead = k  # the run's first word
        first_at: int | None = None  # where the run's first noun begins
        while k < self.n:
            if self.space[k]:
                k += 1  # a caption's double space
                continue
            if k in self.mw_last:
                e = self.mw_last[k]
                first_at = k if first_at is None else first_at
                nouns.append(e)
                last = e
                k = e + 1
                continue
            t = doc[k]
            w = low[k]
            tagged = t.pos_ in _NOUN_POS
            in_gz = self.gz[k] is not None
            nominal_vbg = (
                t.tag_ == "VBG"
                and t.dep_ in ("pobj", "dobj", "nsubj", "nsubjpass")
                and not any(c.dep_ in ("dobj", "prep", "advmod", "prt") for c in t.children)
            )
            if (
                last is None
                and w in lex.nonhue
                and k > 0
                and low[k - 1] in _HYPHENS
                and self._is_noun(self._next(k))
            ):
                k += 1  # "a black-spotted cat": the non-hue word is a phrase of its own
                continue
            if w in lex.colour_bearing and (last is not None or not tagged):
                break
            if last is None and t.pos_ == "ADV" and w in _INTENSIFIERS:
                k += 1  # "a red, very small plane"
                continue
            if last is not None and not tagged and not in_gz:
                j = self._compound_verb_end(k, last)
                if j is not None:
                    k = j  # "a white Styrofoam flip top container": a compound modifier
                    continue
            if tagged or in_gz or nominal_vbg:
                if last is not None:
                    if (
                        not tagged
                        and t.tag_ in ("VBZ", "VBD", "VBN", "MD")
                        and (t.tag_ == "MD" or self._lem(t).lower() != w)
                    ):
                        break  # "a dog stands", "a bus parked" (not "a stove top oven/VBN")
                    if self._list_pair(last, k):
                        break  # "a white refrigerator stove oven": a list without commas
                    if (
                        in_gz
                        and self.gz[k] in VERB_LIKE_NOUNS
                        and self.gz[k] != w
                        and self._verb_like(k)
                        and self._singular_np(k)
                    ):
                        break  # "a yellow bus parks near ...": the -s form is the verb
                    if (
                        (tagged or nominal_vbg)
                        and not in_gz
                        and self.gz[last] is not None
                        and self._verb_like(k, True)
                    ):
                        break  # "a red kite flies in the sky"
                elif not tagged and not in_gz and t.tag_ in ("VBZ", "VBD"):
                    break
                last = k
                first_at = k if first_at is None else first_at
                nouns.append(k)
                if k in self.cut:
                    break
            elif (
                t.pos_ in ("ADJ", "NUM")
                or w in _HYPHENS
                or (
                    t.pos_ == "VERB"
                    and (
                        t.tag_ in ("VBN", "VBG")
                        # a noun the tagger calls a verb inside a compound: "white show horses"
                        or (t.dep_ == "compound" and self._is_noun(k + 1))
                    )
                    and t.dep_ in ("amod", "compound")
                    and w not in _NOT_ATTRIBUTIVE
                )
                or (
                    # "gold trimmed clock", "a blue lit bridge": a participle before the noun
                    last is None
                    and t.pos_ == "VERB"
                    and w.endswith(("ed", "ing", "lit"))
                    and w not in _NOT_ATTRIBUTIVE
                    and self._is_noun(k + 1)
                )
            ):
                if (
                    last is not None
                    and w not in _HYPHENS
                    and not (
                        # "a white porcelain pedestal/ADJ sink": an adjective between nouns
                        t.pos_ == "ADJ"
                        and w not in lex.colour_bearing
                        and k + 1 < self.n
                        and (self.gz[k + 1] is not None or k + 1 in self.mw_last)
                    )
                    and not (self._noun_participle(k) and first_at != lead)
                ):
                    break
            else:
                break
            k += 1
        if last is None:
            return None
        if low[last] in HEAD_BACKOFF and len(nouns) >= 2:
            last = nouns[-2]
        elif len(nouns) >= 2 and nouns[-2] == last - 1 and self._body_part_of(nouns[-2], last):
            last = nouns[-2]  # "a red head girl" -> head
        return last, doc[last].pos_ not in _NOUN_POS

    def _body_part_of(self, p: int, h: int) -> bool:
        """Noun p is a body part (``body_part_nouns``) compounded before h, a person or animal
        noun: the colour is the part's ("a red head girl", "black face sheep")."""
        if (self.gz[p] or self.low[p]) not in BODY_PART_NOUNS:
            return False
        lem = self.gz[h] or self.low[h]
        return lem in PERSON_NOUNS or synonym_table().get(lem) in ANIMAL_CATEGORIES

    def _quantity_of(self, q: int) -> tuple[int, bool] | None:
        """The "of" noun run after a quantity noun at q ("pair of scissors" -> scissors, "piece
        of cake" -> cake; ``quantity_nouns``), else None."""
        if self.low[q] in QUANTITY_NOUNS and q + 2 < self.n and self.low[q + 1] == "of":
            return self._noun_run_head(q + 2)
        return None

    def _noun_participle(self, k: int) -> bool:
        """Token k is the participle of a noun + participle compound adjective between two
        nouns ("a grassy tree filled area", "a large snow capped mountain"): a past participle
        modifying the noun right after it. The run continues over it to that noun, unless the
        compound's noun is the first word of the run ("a green grass covered field"): then the
        colour is that noun's (docs/protocol.md#colour-phrase-extraction)."""
        t = self.doc[k]
        j = self._next(k, skip_hyphen=False)
        return (
            t.tag_ == "VBN"
            and t.dep_ in ("amod", "compound")
            and self.low[k].endswith("ed")
            and j < self.n
            and self.low[j] not in self.lex.colour_bearing
            and (self.gz[j] is not None or j in self.mw_last or self.doc[j].pos_ in _NOUN_POS)
        )

    def _list_pair(self, a: int, b: int) -> bool:
        """Nouns a and b side by side name two appliances or fixtures of different kinds
        (``appliance_nouns``): a list without commas ("a white refrigerator stove oven and
        dishwasher", "silver oven sink and refrigerator"), not a compound ("a dual oven
        stove")."""
        ka = APPLIANCE_NOUNS.get(self.gz[a] or self.low[a])
        kb = APPLIANCE_NOUNS.get(self.gz[b] or self.low[b])
        return ka is not None and kb is not None and ka != kb

    def _compound_verb_end(self, k: int, last: int) -> int | None:
        """A base-form verb (with its particle) right after a singular noun and right before
        another noun is part of a compound modifier, not the noun's verb ("a white Styrofoam
        flip top container", "a white plastic take out container": a singular subject would take
        "flips"/"takes"), unless that noun names a person, a garment or a COCO object, which may
        be a subject with a mistyped verb ("a man in a white shirt play tennis"). Returns the
        token after the verb and particle, or None."""
        doc = self.doc
        if doc[k].tag_ not in ("VB", "VBP") or doc[last].tag_ not in ("NN", "NNP"):
            return None
        lem = self.gz[last]
        if lem is not None and (
            lem in PERSON_NOUNS or lem in GARMENT_NOUNS or lem in synonym_table()
        ):
            return None  # a person, garment or object noun may be a subject: "a cat sit chair"
        if self.low[k] in _NOT_ATTRIBUTIVE or doc[k].pos_ != "VERB":
            return None
        j = k + 1
        if j < self.n and doc[j].tag_ == "RP":
            j += 1  # "take out"
        if j >= self.n or self.low[j] in self.lex.colour_bearing:
            return None
        if self.gz[j] is not None or j in self.mw_last or doc[j].pos_ in _NOUN_POS:
            return j
        if doc[j].pos_ == "ADJ" and j + 1 < self.n and self._is_noun(j + 1):
            return j
        return None

    def _object(self, h: int, run_start: int | None = None, lemma: str | None = None) -> ObjectRef:
        doc = self.doc
        tok = doc[h]
        # compound words directly left of the head, not colours or modifiers: a multi-word
        # gazetteer noun, the parse's compound arcs, or (when the head was found by position)
        # every noun of the noun run
        s = h
        mw_start = next((a for a, b in self.mw_last.items() if b == h and a < h), None)
        if mw_start is not None and (run_start is None or mw_start >= run_start):
            s = mw_start
        while (
            s - 1 >= 0
            and self._is_noun(s - 1)
            and (
                doc[s - 1].dep_ in ("compound", "nmod", "amod")
                or (run_start is not None and s - 1 >= run_start)
            )
            and self.low[s - 1] not in self.lex.colour_bearing
            and self.low[s - 1] not in self.lex.modifiers
        ):
            s -= 1
        text_span = (doc[s].idx, tok.idx + len(tok.text))
        # noun phrase, by position: determiners, numbers, adjectives, colours and modifiers
        # (with their joiners) left of the compound words; the parse's subtree is unreliable
        # when the parser mis-attaches the head (it is then often the whole sentence)
        left = s
        k = s - 1
        while k >= 0:
            t, w = doc[k], self.low[k]
            if self.gz[k] is not None and w not in self.lex.hue_compounds and t.pos_ != "DET":
                break  # a noun conjunct ("a beard, vest and colorful tie")
            if (
                t.pos_ in ("DET", "ADJ", "NUM")
                or t.tag_ == "PRP$"
                or w in self.lex.colour_bearing
                or (
                    w in self.lex.modifiers
                    or w in self.lex.hue_compounds
                    or w in ("colored", "coloured")
                )
            ):
                left = k
                if t.pos_ == "DET" or t.tag_ == "PRP$":
                    break
            elif w not in ("-", "–", "and", ",", "or", "/") and w not in _DEGREE:
                break
            k -= 1
        noun_span = (doc[left].idx, tok.idx + len(tok.text))
        w = self.low[h]
        gz = self.gz[h]
        tagged = tok.pos_ in _NOUN_POS
        if lemma is None:
            lemma = self._lem(tok).lower() if tagged or gz is None else gz
        plural = tok.tag_ in ("NNS", "NNPS") or (not tagged and gz is not None and gz != w)
        if w in ("ones",):
            plural = True
        det = self.low[left] if left < h else ""
        if det in ("a", "an", "one", "another", "this", "that", "each", "every"):
            plural = False  # "a large white sheep" (the tagger says NNS for invariant nouns)
        elif det in ("two", "three", "four", "five", "these", "those", "several", "many"):
            plural = True
        head_end = tok.idx + self.cut.get(h, len(tok.text))
        # a hyphenated word is one word: the head of "a blue t-shirt" is "t-shirt"
        hs = h
        while (
            hs - 2 >= 0
            and self.low[hs - 1] in _HYPHENS
            and not doc[hs - 1].whitespace_
            and not doc[hs - 2].whitespace_
            and doc[hs - 2].is_alpha
            and self.low[hs - 2] not in self.lex.colour_bearing
        ):
            hs -= 2
        head_start = doc[hs].idx
        text_span = (min(text_span[0], head_start), head_end)
        return ObjectRef(
            text=self.text[text_span[0] : text_span[1]],
            lemma=lemma,
            head=self.text[head_start:head_end],
            span=text_span,
            head_span=(head_start, head_end),
            noun_span=(noun_span[0], head_end),
            plural=plural,
        )

    # -- predicates -------------------------------------------------------------------------------
    def _subject_of(self, v: Token) -> Token | None:
        # the subject nearest before the verb first ("bus, first part is red": part)
        kids = sorted(v.children, key=lambda c: (not (c.i < v.i), -c.i if c.i < v.i else c.i))
        for ch in kids:
            if ch.dep_ in ("nsubj", "nsubjpass"):
                if ch.lower_ in REL_PRONOUNS and v.dep_ == "relcl":
                    return v.head
                if v.tag_ == "VBZ" or any(
                    a.tag_ == "VBZ" for a in v.children if a.dep_ in ("aux", "auxpass")
                ):
                    # "a red car and the bus is white": a singular verb agrees with the
                    # conjunct nearest to it, which the parser attaches as conj of the first
                    conj = [c for c in ch.conjuncts if ch.i < c.i < v.i]
                    if conj:
                        return conj[-1]
                return ch
        if v.dep_ in ("acl", "relcl", "advcl", "amod") and v.head.pos_ in (*_NOUN_POS, "PRON"):
            return v.head
        if v.dep_ == "conj" or (v.dep_ == "xcomp" and v.head.pos_ in ("VERB", "AUX")):
            # a conjunct verb, or an infinitive complement ("bananas starting to turn brown"),
            # shares the subject of its head verb
            return self._subject_of(v.head)
        return None

    def _pred_start(self, v: Token, first: int) -> int:
        """Left end of a removed predicate: the relative pronoun or the first auxiliary."""
        start = v.i
        for ch in v.children:
            if ch.i < start and (
                ch.dep_ in ("aux", "auxpass", "neg")
                or (ch.dep_ in ("nsubj", "nsubjpass") and ch.lower_ in REL_PRONOUNS)
            ):
                start = ch.i
        # by position too: "that is", "which has been", "is being"
        k = start - 1
        while k >= 0 and (
            self.doc[k].pos_ == "AUX" or self.low[k] in ("been", "being", "be", "has", "have")
        ):
            k -= 1
        if k >= 0 and self.low[k] in REL_PRONOUNS and k < start:
            start = k
        elif k + 1 < start:
            start = k + 1
        return min(start, first)

    def _noun_before(self, i: int, limit: int = 6) -> int | None:
        """The nearest noun left of token i (within ``limit`` tokens, not crossing a verb or a
        clause boundary), moved to the first of coordinated nouns ("furnishings and accents")."""
        k = i - 1
        stop = max(-1, i - 1 - limit)
        while k > stop:
            t = self.doc[k]
            if self._is_noun(k) and self.low[k] not in self.lex.colour_bearing:
                break
            if t.pos_ in ("VERB", "AUX") or self.low[k] in (";", ".", "that", "which", "who"):
                return None
            k -= 1
        else:
            return None
        return self._first_conjunct(k)

    def _first_conjunct(self, k: int, joiners: tuple[str, ...] = ("and", ",", "or")) -> int:
        """The head of the first of coordinated noun runs ending at noun k ("furnishings and
        accents" -> furnishings; "a kitchen and dining area" -> kitchen)."""
        while True:
            s = k
            while (
                s - 1 >= 0
                and self._is_noun(s - 1)
                and self.low[s - 1] not in self.lex.colour_bearing
            ):
                s -= 1
            if s - 2 >= 0 and self.low[s - 1] in joiners and self._is_noun(s - 2):
                k = s - 2
                continue
            return k

    def _run_head_from(self, i: int, stop: int) -> int:
        """The head of the noun run that starts at noun ``i`` and ends before ``stop`` (a
        subject the parser gave as the first word of a compound: "the fire hydrant" ->
        hydrant)."""
        if i in self.mw_last and self.mw_last[i] < stop:
            return self.mw_last[i]
        k = i
        while (
            k + 1 < stop and self._is_noun(k + 1) and self.low[k + 1] not in self.lex.colour_bearing
        ):
            if self.doc[k + 1].pos_ not in _NOUN_POS and self.doc[k + 1].tag_.startswith("VB"):
                break
            k += 1
        return k

    def _is_participle(self, v: Token) -> bool:
        """A past participle without auxiliary right after a noun ("a wall painted green"; the
        small model often tags it VBD)."""
        k = v.i - 1
        return (
            (v.tag_ == "VBN" or (v.tag_ == "VBD" and self._lem(v).lower() not in COPULA_VERBS))
            and k >= 0
            and self._is_noun(k)
            and not any(c.dep_ in ("aux", "auxpass", "dobj") for c in v.children)
        )

    def _subject_by_position(self, v: int) -> int | None:
        """The subject of predicate verb token ``v`` by word order: a relative pronoun right
        before its auxiliaries resolves to the noun before it; a participle without auxiliary
        ("a wall painted green") to the noun before it; else the nearest noun on the left."""
        k = v - 1
        aux = False
        while k >= 0 and (
            self.doc[k].pos_ == "AUX"
            or self.low[k] in ("been", "being", "has", "have", "had", "is", "are", "was", "were")
        ):
            aux = True
            k -= 1
        while k >= 0 and self.doc[k].pos_ == "ADV":
            k -= 1
        if k < 0:
            return None
        if self.low[k] == "to" and not aux:
            # an infinitive ("waiting for the light to turn green", "bananas starting to turn
            # brown"): the noun right before "to", else the subject of the verb before it
            p = k - 1
            while p >= 0 and (self.doc[p].pos_ == "ADV" or self.low[p] == "about"):
                p -= 1  # "is about to turn red"
            if p < 0:
                return None
            if self._is_noun(p) and self.low[p] not in self.lex.colour_bearing:
                return p
            if self.doc[p].pos_ in ("VERB", "AUX"):
                return self._subject_by_position(p)
            return None
        if self.low[k] in REL_PRONOUNS:
            return self._noun_before(k, limit=4)
        if self.low[k] in ("one", "ones") and not aux:
            return k  # "outside one is blue": anaphoric one
        if self._is_noun(k) and self.low[k] not in self.lex.colour_bearing:
            # "the bathroom is ...", "a wall painted green", "furnishings and accents in ..."
            # "a man and a dog are ..." stays with the nearest
            return k if aux else self._first_conjunct(k, ("and", ","))
        if self.doc[k].pos_ == "PRON" and self._is_person(self.doc[k]):
            return k
        return self._noun_before(k + 1, limit=8) if aux else None

    def _pred_verb_by_position(self, m_first: int) -> tuple[int, bool] | None:
        """The predicate verb left of a colour chain by word order ("is small and white",
        "painted red white and blue", "glows red", "decorated in white"): skips adjectives,
        adverbs and joiners. Returns (verb index, via 'in')."""
        k = m_first - 1
        via_in = False
        if k >= 0 and self.low[k] == "in":
            via_in = True
            k -= 1
        while k >= 0:
            t = self.doc[k]
            w = self.low[k]
            lemma = self._lem(t).lower()
            if lemma in PRED_VERBS or (t.pos_ == "AUX" and lemma == "be"):
                if t.pos_ in ("VERB", "AUX") or w.endswith(("ed", "s")) or lemma == "be":
                    if via_in and lemma not in _IN_VERBS:
                        return None
                    return k, via_in
                return None
            if via_in:
                return None
            if w in ("and", ",", "or", "all", "very", "mostly", "both", "entirely", "mainly"):
                k -= 1
                continue
            if t.pos_ in ("ADJ", "ADV") and w not in self.lex.colour_bearing and m_first - k <= 6:
                k -= 1
                continue
            return None
        return None

    # -- garments -------------------------------------------------------------------------------
    def _garment_by_position(self, m_first: int, end_tok: int) -> int | None:
        """R6 by word order: "<person> in (all) X", "dressed (all) in X", "wearing X" where X is
        not followed by a garment noun (then R1 names the garment). Returns the wearer's token
        index, -1 for a garment colour without a wearer, or None when the pattern is absent."""
        low = self.low
        nxt = self._next(end_tok)
        hr = self._noun_run_head(nxt)
        if hr is not None:
            h = hr[0]
            verbal_start = low[nxt].endswith("ing") and self.gz[nxt] is None  # "in green waving"
            if not verbal_start and (
                low[h] in GARMENT_NOUNS
                or self._lem(self.doc[h]).lower() in GARMENT_NOUNS
                or (self.gz[h] is not None and not (h == nxt and self._verb_like(h)))
                or not (low[h].endswith(("ing", "s")) or self._verb_like(h))
            ):
                return None  # the garment (or another object) is named: R1 handles it
        p = m_first - 1
        while p >= 0 and low[p] in ("all", "mostly", "entirely", "mainly"):
            p -= 1
        if p < 0:
            return None
        if low[p] == "in":
            if low[p + 1] == "all":
                # "in all white" is a garment colour when a person precedes ("a man playing
                # tennis on a court in all white"; "a kitchen in all white" is not)
                w = self._person_before(p, person=True)
                if w is not None:
                    return w.i
            q = p - 1
            while (
                q >= 0
                and low[q] in ("all", "dressed", "clad", "clothed", "dress")
                and not (
                    self._lem(self.doc[q]) in DRESS_VERBS
                    or low[q] in ("dressed", "clad", "clothed")
                )
            ):
                q -= 1
            if q < 0:
                return None
            tq = self.doc[q]
            if self._lem(tq) in DRESS_VERBS or low[q] in ("dressed", "clad", "clothed"):
                w = self._wearer(tq)
                if w is None:
                    w = self._person_before(q)
                return w.i if w is not None else -1
            if (tq.pos_ in _NOUN_POS or tq.pos_ == "PRON") and self._is_person(tq):
                return q
            if self._lem(tq) == "be":  # "a young man is in blue and white"
                w = self._subject_of(tq)
                if w is not None and self._is_person(w):
                    return w.i
            return None
        tp = self.doc[p]
        if self._lem(tp) in ("wear", "don", "sport") and tp.pos_ in ("VERB", "AUX", "NOUN"):
            w = self._wearer(tp)
            if w is None or not self._is_person(w):
                w = self._person_before(p, person=True) or w
            return w.i if w is not None else -1
        return None

    def _person_before(self, q: int, person: bool = False) -> Token | None:
        """The nearest noun (with ``person``: person noun) within a few tokens before q."""
        for k in range(q - 1, max(-1, q - (10 if person else 6)), -1):
            t = self.doc[k]
            if person and not self._is_person(t):
                continue
            if t.pos_ in _NOUN_POS or (t.pos_ == "PRON" and self._is_person(t)):
                return t
        return None

    def _wearer(self, v: Token) -> Token | None:
        subj = self._subject_of(v)
        if subj is not None and (subj.pos_ in _NOUN_POS or self._is_person(subj)):
            return subj
        return None

    # -- main ---------------------------------------------------------------------------------
    def run(self) -> list[ColorPhrase]:
        stopped = self._stop_tokens()
        cand = self._colour_tokens(stopped)
        if not cand:
            return []
        mods: dict[int, list[int]] = {}
        modifier_of: dict[int, int] = {}
        for i in sorted(cand, reverse=True):
            if i in modifier_of:
                continue
            m = self._modifier_tokens(i, cand)
            mods[i] = m
            for j in m:
                modifier_of[j] = i
        chains = self._chains(cand, modifier_of)
        chains, forced = self._noun_senses(chains, cand)
        phrases: list[ColorPhrase] = []
        for chain in chains:
            p = self._resolve(chain, cand, mods, forced.get(chain[-1]))
            if p is not None:
                phrases.append(p)
                if p.object is not None and not p.nonhue:
                    self.prev_obj = next(
                        (i for i, x in enumerate(self.starts) if x == p.object.head_span[0]), None
                    )
        return [
            ColorPhrase(
                phrase_id=k,
                rule=p.rule,
                colours=p.colours,
                object=p.object,
                nonhue=p.nonhue,
                garment=p.garment,
                span=p.span,
                removal=p.removal,
                replacement=p.replacement,
            )
            for k, p in enumerate(sorted(phrases, key=lambda p: p.span))
        ]

    def _noun_senses(
        self, chains: list[list[int]], cand: dict[int, str]
    ) -> tuple[list[list[int]], dict[int, int]]:
        """Flower/fruit senses by context: a colour word with a noun sense (lexicon ``S``: rose,
        orange, lime, peach, ...) right after another colour and followed by no noun is the
        object of that colour ("a single white rose"). Returns the chains without such words and
        {last chain token: forced object token}."""
        out: list[list[int]] = []
        forced: dict[int, int] = {}
        for chain in chains:
            last = chain[-1]
            e = self.lex.colours.get(cand[last])
            if (
                len(chain) >= 2
                and e is not None
                and e.other_sense
                and e.rules != ALL_RULES  # restricted words only: "rose", "lime", "peach", ...
                and chain[-2] == last - 1
                and not self._is_noun(self._next(last))
                and (self._next(last) >= self.n or self.low[self._next(last)] not in COLORED_WORDS)
            ):
                self.nonsense.add(last)
                out.append(chain[:-1])
                forced[chain[-2]] = last
                continue
            out.append(chain)
        return out, forced

    def _terms(self, chain: list[int], cand: dict[int, str], mods: dict[int, list[int]]):
        lex = self.lex
        terms = []
        for i in chain:
            key = cand[i]
            e = lex.colours.get(key)
            tok = self.doc[i]
            t_start = tok.idx
            if key == "multicolored" and self.low[i] in ("colored", "coloured"):
                k = i - 1
                while k >= 0 and self.low[k] in ("-", "–", *_MULTI):
                    t_start = self.doc[k].idx
                    k -= 1
            if e is not None:
                canonical, category = e.canonical, e.category
            else:
                ne = lex.nonhue.get(key)
                canonical, category = (ne.canonical if ne else key), None
            m_idx = [j for j in mods.get(i, []) if self.low[j] not in _DEGREE]
            m_text = [self.low[j] for j in m_idx]
            m_spans = [self._span(j, j) for j in m_idx]
            if e is not None and e.implied_modifier:
                m_text.append(e.implied_modifier)
                m_spans.append((tok.idx, tok.idx + len(tok.text)))
            t_end = tok.idx + len(tok.text)
            terms.append(
                ColourTerm(
                    text=self.text[t_start:t_end],
                    canonical=canonical,
                    category=category,
                    span=(t_start, t_end),
                    modifiers=tuple(m_text),
                    modifier_spans=tuple(m_spans),
                )
            )
        return tuple(terms)

    def _negated(self, chain: list[int], v: Token | None) -> bool:
        if self._neg_heads is None:  # tokens with a "neg" child, found once per caption
            self._neg_heads = {t.head.i for t in self.doc if t.dep_ == "neg" and t.head.i != t.i}
        toks = [*chain, v.i] if v is not None else chain
        if any(i in self._neg_heads for i in toks):
            return True
        first = chain[0]
        return first > 0 and self.low[first - 1] in ("not", "n't", "no", "never")

    # -- constructions, in order ------------------------------------------------------------------
    def _r4_r5_colored(self, chain, m_first, last) -> _Res | None:
        """R4 "X colored N" / "X-colored" / "X color"; R5 "in X color(s)"."""
        doc, low = self.doc, self.low
        p = m_first - 1
        while p >= 0 and low[p] in ("a", "an", "the", *_DEGREE):
            p -= 1
        j = self._next(last)
        cn = self._colour_noun(j, after_in=p >= 0 and low[p] == "in")
        if cn is None:
            return None
        cw = doc[j]
        j0, j = j, cn  # the colour noun's first and last token ("shade of color")
        hr = (
            None
            if low[j0] in ("shade", "shades")
            else self._noun_run_head(j + 1, comma=self._attributive(m_first))
        )
        if hr is not None:  # "a red colored kite", "in brown tone room"
            hq = self._quantity_of(hr[0])  # "a gold colored pair of scissors" -> scissors
            if hq is not None:
                return _Res("R4", hq[0], j, m_first, j, recovered=hq[1])
            return _Res("R4", hr[0], j, m_first, j, run_start=j + 1, recovered=hr[1])
        if p >= 0 and low[p] == "in":
            prep = doc[p]
            att = prep.head
            if att.pos_ in _NOUN_POS and att.i < p:
                return _Res("R5", att.i, j, p, j)
            nb = self._noun_before(p, limit=2)
            if nb is not None:
                return _Res("R5", nb, j, p, j, how="+pos")
            subj = self._subject_of(att)
            obj = subj.i if subj is not None and subj.pos_ in _NOUN_POS else None
            if self._lem(att) == "be" or att.pos_ == "AUX":
                return _Res("R5", obj, j, self._pred_start(att, p), j, verb=att)
            return _Res("R5", obj, j, p, j, verb=att)
        # "weathered to a mint green color", "is a dark blue color": a colour noun phrase
        np_start = (
            m_first - 1 if m_first >= 1 and low[m_first - 1] in ("a", "an", "the") else m_first
        )
        res = self._colour_np(np_start, j, "R4")
        if res is not None:
            return res
        if cw.head.pos_ in _NOUN_POS and cw.head.i != j and cw.head.i not in chain:
            return _Res("R4", cw.head.i, j, m_first, j)
        # "the car is red colored": a predicate
        vt = cw.head if cw.head.i != j else doc[chain[0]].head
        subj = self._subject_of(vt)
        if subj is not None and subj.pos_ in _NOUN_POS:
            return _Res("R4", subj.i, j, self._pred_start(vt, m_first), j, verb=vt)
        return _Res("R4", None, j, m_first, j)

    def _colour_noun(self, j: int, after_in: bool = False) -> int | None:
        """Last token of a colour noun starting at token j, or None: color/colored/colors
        ("a red color", "red colored"), "accent color(s)", a tint, tone or hue ("a light green
        tint", "brown tone"), a shade only as "shade(s) of color" or after "in" ("in red and
        blue shade of color"); "of color(s)" after any of them is part of it."""
        low = self.low
        if j >= self.n:
            return None
        w = low[j]
        if w in ("accent", "accents") and j + 1 < self.n and low[j + 1] in COLORED_WORDS:
            j, w = j + 1, low[j + 1]
        of_colour = j + 2 < self.n and low[j + 1] == "of" and low[j + 2] in COLORED_WORDS
        if w in COLORED_WORDS:
            return j
        if w in TINT_WORDS or (w in ("shade", "shades") and (of_colour or after_in)):
            return j + 2 if of_colour else j
        return None

    def _r5_shades(self, m_first, last) -> _Res | None:
        """R5 "in (different) shades/hues/tones of X": the noun before "in"."""
        low = self.low
        p = m_first - 1
        if not (p >= 2 and low[p] == "of" and low[p - 1] in SHADE_WORDS):
            return None
        q = p - 2
        while q >= 0 and self.doc[q].pos_ == "ADJ":
            q -= 1
        if q >= 0 and low[q] in ("a", "an", "the"):
            # "are the same shade of blue": a colour noun phrase
            return self._colour_np(q, last, "R5")
        if q < 0 or low[q] != "in":
            return None
        nb = self._noun_before(q, limit=3)
        if nb is None:
            v = self._pred_verb_by_position(q + 1)
            if v is not None:
                nb = self._subject_by_position(v[0])
        return _Res("R5", nb, last, q, last, how="+pos")

    def _colour_np(self, np_start: int, end: int, rule: str) -> _Res | None:
        """A colour used as a noun phrase (tokens np_start..end: "green and white", "a mint
        green color", "the same shade of blue"), resolved by what precedes it: a preposition
        ("a wave of green and white", "a tower with gold and blue", "are in pink and green",
        "weathered to a ... color") gives the noun before it, else the subject of the verb
        before it; a copula or colouring verb ("is a dark blue color") gives its subject.
        The removal starts at the preposition (predicates: see :meth:`_pred_removal`)."""
        doc, low = self.doc, self.low
        p = np_start - 1
        if p < 0:
            return None
        if low[p] in ("with", "of", "in", "to", "into"):
            nb = self._noun_before(p, limit=3)
            if nb is not None and low[p] != "to":
                return _Res(rule, nb, end, p, end, how="+pos")
            k = p - 1
            while k >= 0 and doc[k].pos_ in ("ADV", "ADJ") and low[k] not in self.lex.colours:
                k -= 1  # "is very colorful with blue, yellow and red"
            if k < 0 or doc[k].pos_ not in ("VERB", "AUX"):
                return None
            subj = self._subject_by_position(k)
            if subj is None:
                sv = self._subject_of(doc[k])
                subj = sv.i if sv is not None and self._is_noun(sv.i) else None
            if subj is None:
                return None
            lemma = self._lem(doc[k]).lower()
            verb = doc[k] if lemma in PRED_VERBS or doc[k].pos_ == "AUX" else None
            return _Res(rule, subj, end, p, end, verb=verb, how="+pos")
        if self._lem(doc[p]).lower() in PRED_VERBS or doc[p].pos_ == "AUX":
            subj = self._subject_by_position(p)
            if subj is None:
                return None
            return _Res("R3", subj, end, np_start, end, verb=doc[p], how="+pos")
        return None

    def _r1_appositive(self, m_first, last) -> _Res | None:
        """R1 by position for a colour set off by a comma after its noun ("colorful clock
        tower, mostly red with ..."): the removal takes the comma."""
        p = m_first - 1
        while p >= 1 and self.low[p] in _DEGREE:
            p -= 1  # "tower, mostly red"
        if not (p >= 1 and self.low[p] == ","):
            return None
        if self._noun_run_head(self._next(last)) is not None:
            return None
        k = p - 1
        if not (self._is_noun(k) and self.low[k] not in self.lex.colour_bearing):
            return None
        j = self._next(last)
        if j + 1 < self.n and self.low[j] == "," and self.doc[j + 1].pos_ in ("VERB", "AUX"):
            return _Res("R1", k, j, p, j, how="+pos")  # "two cats, orange and white, sit"
        return _Res("R1", k, last, p, last, how="+pos")

    def _r5_pp(self, m_first, last) -> _Res | None:
        """R5: a colour chain as the object of with/of/in with no noun after it ("a clock tower
        with gold and blue", "a wave of green and white", "rooms are in pink and green")."""
        low = self.low
        if m_first < 1 or low[m_first - 1] not in ("with", "of", "in"):
            return None
        nxt = self._next(last)
        if self._noun_run_head(nxt) is not None:
            return None
        if nxt < self.n and low[nxt] in _JOIN_WORDS and self._is_noun(self._next(nxt)):
            return None  # "a tube of orange and pears": a noun among nouns
        e = self.lex.colours.get(low[last])
        if e is not None and e.other_sense and m_first == last:
            return None  # "slices of orange": a fruit
        if low[m_first - 1] == "with" and nxt + 1 < self.n and low[nxt] in ("on", "around"):
            # "an elephant with red on its face": the colour is the face's
            j = nxt + 1
            while j < self.n and (
                low[j] in _DETS or low[j] in ("it", "'s") or self.doc[j].tag_ in ("PRP$", "POS")
            ):
                j += 1
            hr = self._noun_run_head(j)
            if hr is not None:
                return _Res("R5", hr[0], hr[0], m_first - 1, hr[0], how="+pos")
        return self._colour_np(m_first, last, "R5")

    def _r3_postnominal(self, chain, cand, m_first, last) -> _Res | None:
        """R3 without a verb: a colour right after its noun, ending the clause or coordinated
        with other adjectives ("a kitchen with the windows white and open", "looking at
        something yellow and roundish", "a train yellow and black on the tracks", "the sky is
        blue and the grass green"). The removal takes the joiner to a next adjective ("the
        windows open")."""
        low, doc = self.low, self.doc
        k = m_first - 1
        if k < 1:
            return None
        e = self.lex.colours.get(cand[chain[0]])
        if len(chain) == 1 and e is not None and e.other_sense:
            return None  # "whip cream", "spicy mustard": the food
        if low[k] in self.lex.colour_bearing or not (
            doc[k].pos_ in _NOUN_POS or self.gz[k] is not None or low[k] in _INDEFINITES
        ):
            return None
        j = self._next(last)
        if j >= self.n or (doc[j].pos_ == "PUNCT" and low[j] not in _HYPHENS) or low[j] in _PLACE:
            return _Res("R3", k, last, m_first, last, how="+pos")
        if low[j] not in ("and", ",", "or"):
            return None
        a = j + 1
        if a < self.n and low[a] == "and":
            a += 1  # ", and"
        if a >= self.n or low[a] in self.lex.colour_bearing:
            return None
        if doc[a].pos_ == "ADJ" and not self._is_noun(a + 1):
            return _Res("R3", k, last, m_first, a - 1, how="+pos")  # "white and open"
        if doc[a].pos_ in ("DET", "NUM", "PRON", "AUX"):
            return _Res("R3", k, last, m_first, last, how="+pos")  # "... white and a ..."
        return None

    def _bw_photo_of(self, chain, cand, m_first, last) -> bool:
        """ "(a) black and white of a horse ..." opening a caption: the picture, its noun
        elided; "of" goes with the colours at sparse (see :meth:`strays`)."""
        if len(chain) != 2 or m_first != chain[0] or {cand[i] for i in chain} != {"black", "white"}:
            return False
        nxt = self._next(last)
        start = m_first == 0 or (m_first == 1 and self.low[0] in ("a", "an", "the"))
        return start and nxt < self.n and self.low[nxt] == "of"

    def _bw_photo_pp(self, chain, cand, m_first, last) -> bool:
        """ "in black and white" closing a clause describes the picture ("two stuffed animals
        posed together in black and white", "a man walking down a sidewalk in black and
        white"): exactly black and white after "in", no noun after them, and no reading as a
        garment (tried before), a colouring verb ("decorated in", "painted in") or a copula
        ("the room is in black and white" stays the room's colours)."""
        low, doc = self.low, self.doc
        if len(chain) != 2 or m_first != chain[0] or {cand[i] for i in chain} != {"black", "white"}:
            return False
        p = m_first - 1
        if not (p >= 1 and low[p] == "in"):
            return False
        nxt = self._next(last)
        if nxt < self.n and (self._is_noun(nxt) or low[nxt] in COLORED_WORDS | SHADE_WORDS):
            return False
        k = p - 1
        while k >= 0 and doc[k].pos_ == "ADV":
            k -= 1  # "posed together in"
        if k < 0:
            return False
        t = doc[k]
        lemma = self._lem(t).lower()
        return not (
            t.pos_ == "AUX"
            or lemma in PRED_VERBS
            or lemma in _IN_VERBS
            or lemma in DRESS_VERBS
            or lemma in WEAR_VERBS
            or self._is_person(t)
        )

    def _r1_elided(self, m_first, last) -> _Res | None:
        """R9: "a black and a white sheep", "a green and two red buses" -- the first colour's
        noun is elided. The removal is the colour, the joiner and the second article ("black
        and a"); before a number it is the first article, the colour and the joiner ("[a green
        and] two red buses"). A word with another sense after a preposition is that noun
        ("glasses of wine and a wine bottle"), not a colour with an elided noun."""
        low = self.low
        k = self._next(last)
        if not (k + 2 < self.n and low[k] in ("and", "or")):
            return None
        e = self.lex.colours.get(low[last])
        if (
            e is not None
            and e.other_sense
            and m_first == last
            and m_first >= 1
            and self.doc[m_first - 1].pos_ == "ADP"
        ):
            return None
        number = low[k + 1] in NUMBER_WORDS or low[k + 1].isdigit()
        if not (low[k + 1] in ("a", "an") or number):
            return None
        j = k + 2
        while j < self.n and (
            low[j] in self.lex.colour_bearing
            or low[j] in self.lex.modifiers
            or low[j] in _JOIN_WORDS
        ):
            j += 1
        if j == k + 2:
            return None
        hr = self._noun_run_head(j)
        if hr is None:
            return None
        if number:
            a = m_first - 1
            if not (a >= 0 and low[a] in ("a", "an", "one")):
                return None
            return _Res("R9", hr[0], last, a, k, run_start=j, recovered=hr[1])
        # removal "black and a": the colour, the joiner and the second article
        return _Res("R9", hr[0], last, m_first, k + 1, run_start=j, recovered=hr[1])

    def _r9_other(self, m_first, last) -> _Res | None:
        """R9 in a parallel ellipsis: "one in a blue jacket the other white" -- the colour after
        "the other" with no noun of its own takes the previous phrase's object."""
        low = self.low
        p = m_first - 1
        if p >= 0 and low[p] in ("is", "are", "was"):
            p -= 1
        if not (p >= 0 and low[p] == "other") or self.prev_obj is None:
            return None
        if self._noun_run_head(self._next(last)) is not None:
            return None
        # "the other" carries nothing without its colour: the clause goes ("... the other
        # white" -> "...")
        return _Res("R9", self.prev_obj, last, self._clause_start(p), last)

    def _clause_start(self, s: int) -> int:
        """Start of an elliptical clause whose subject is the bare pronoun at token s ("one
        is pink", "the other brown"): "the" before it and a joiner before that ("and",
        ", and", ",") go with it."""
        low = self.low
        if s >= 1 and low[s - 1] == "the":
            s -= 1
        if s >= 1 and low[s - 1] in ("and", ",", "while", "but"):
            s -= 1
            if s >= 1 and low[s - 1] == "," and low[s] != ",":
                s -= 1
        return s

    def _r8_one(self, last, m_first: int = -1) -> _Res | None:
        """R8: "a brown one" -- anaphoric one; the lemma is the antecedent noun's. Only
        attributive: "one is pink one is brown" is two predicates."""
        k = self._next(last)
        if not (k < self.n and self.low[k] in ("one", "ones")):
            return None
        if k + 1 < self.n and self._is_noun(k + 1):
            return None  # "one" as a number before a noun
        if m_first >= 1 and self.doc[m_first - 1].pos_ in ("VERB", "AUX"):
            return None
        return self._one(k, last)

    def _one(self, k: int, before: int) -> _Res:
        """Object "one" at token k, its lemma the nearest noun before token ``before``."""
        last = before
        ante = None
        for a in range(last - 1, -1, -1):
            if self._is_noun(a) and self.low[a] not in self.lex.colour_bearing:
                if self.low[a] in ("one", "ones"):
                    continue
                ante = a
                break
        lemma = None
        if ante is not None:
            t = self.doc[ante]
            lemma = (
                self._lem(t).lower()
                if t.pos_ in _NOUN_POS or self.gz[ante] is None
                else self.gz[ante]
            )
        return _Res("R8", k, last, 0, last, lemma=lemma or "one")

    def _resultative(self, m_first, last) -> _Res | None:
        """R3 with an object: "dyed her hair blue", "painted the fence white" -- the colour is
        the object's; the verb and its object stay at sparse."""
        k = m_first - 1
        if not (k >= 2 and self._is_noun(k) and self.low[k] not in self.lex.colour_bearing):
            return None
        d = k - 1
        while d >= 0 and self.doc[d].pos_ == "ADJ":
            d -= 1
        if not (d >= 1 and (self.low[d] in _DETS or self.doc[d].tag_ == "PRP$")):
            return None
        v = self.doc[d - 1]
        lemma = self._lem(v).lower()
        if v.pos_ != "VERB" or lemma not in PRED_VERBS or lemma in COPULA_VERBS | EMIT_VERBS:
            return None
        return _Res("R3", k, last, m_first, last, how="+pos")

    def _r3_by_position(self, chain, m_first, last) -> _Res | None:
        """R3/R5 by word order (the parse often mis-attaches these): "is small and white and
        gray", "a bus that is red white and blue", "walls painted beige", "a signal light glows
        red", "a kitchen decorated in white"."""
        res = self._resultative(m_first, last)
        if res is not None:
            return res
        found = self._pred_verb_by_position(m_first)
        if found is None:
            return None
        vi, via_in = found
        subj = self._subject_by_position(vi)
        if subj is None:
            sv = self._subject_of(self.doc[vi])
            subj = (
                sv.i if sv is not None and (sv.pos_ in _NOUN_POS or self._is_noun(sv.i)) else None
            )
        if subj is None:
            return None
        rule = "R5" if via_in else "R3"
        lemma = self._one(subj, subj).lemma if self.low[subj] in ("one", "ones") else None
        return _Res(rule, subj, last, m_first, last, verb=self.doc[vi], how="+pos", lemma=lemma)

    def _resolve(
        self,
        chain: list[int],
        cand: dict[int, str],
        mods: dict[int, list[int]],
        forced_obj: int | None = None,
    ) -> ColorPhrase | None:
        low, lex = self.low, self.lex
        first, last = chain[0], chain[-1]
        nonhue = cand[first] not in lex.colours
        m_first = min([first, *mods.get(first, [])])
        if cand[first] == "multicolored" and low[first] in ("colored", "coloured"):
            while m_first - 1 >= 0 and low[m_first - 1] in ("-", "–", *_MULTI):
                m_first -= 1
        res: _Res | None = None
        if forced_obj is not None:  # "a single white rose"
            res = _Res("R1", forced_obj, last, m_first, last)
        if res is None:
            res = self._r4_r5_colored(chain, m_first, last)
        end_tok = last
        j = self._next(last)
        # "X in color" trailing: extend the construction
        if res is None and j + 1 < self.n and low[j] == "in" and low[j + 1] in COLORED_WORDS:
            end_tok = j + 1
        if res is None:
            res = self._r5_shades(m_first, last)
        if res is None:
            g = self._garment_by_position(m_first, end_tok)
            if g is not None:
                res = _Res(
                    "R6", g if g >= 0 else None, end_tok, m_first, end_tok,
                    garment=True, replacement="clothes",
                )  # fmt: skip
        if res is None and end_tok == last:
            res = self._garment_compound(last)
            if res is not None:
                res.rem_start = m_first
        if res is None and end_tok == last:
            res = self._r8_one(last, m_first)
            if res is not None:
                res.rem_start = m_first
        if res is None and end_tok == last:
            # R1 by position: a noun run right after the chain (and after non-hue words: "black
            # and white spotted cows")
            nxt = self._next(end_tok)
            while nxt < self.n and nxt in cand and cand[nxt] not in lex.colours:
                nxt = self._next(nxt)
            hr = self._noun_run_head(nxt, comma=self._attributive(m_first))
            if (
                hr is None
                and self._attributive(m_first)
                and nxt < self.n
                and low[nxt] in ("and", "or", ",")
            ):
                # a colour coordinated with other adjectives before their noun ("with burgundy
                # and floral furniture", "a pink and fuzzy hat")
                a = nxt + 1
                if a < self.n and low[a] == "and":
                    a += 1
                if a < self.n and self.doc[a].pos_ == "ADJ" and low[a] not in lex.colour_bearing:
                    hr = self._noun_run_head(a)
                    if hr is not None:
                        nxt = a
            if hr is not None and low[hr[0]] not in PHOTO_WORDS | {"color", "colour"}:
                res = _Res("R1", hr[0], end_tok, m_first, end_tok, run_start=nxt, recovered=hr[1])
                hq = self._quantity_of(hr[0])  # "a red pair of scissors" -> scissors
                if hq is not None:
                    res = _Res("R1", hq[0], end_tok, m_first, end_tok, recovered=hq[1])
            elif hr is not None and low[hr[0]] in PHOTO_WORDS:
                if {cand[i] for i in chain} <= {"black", "white"} and len(chain) == 2:
                    self.bw_photo = True
                    return None
                res = _Res("R1", hr[0], end_tok, m_first, end_tok)
        if res is None and end_tok == last:
            res = self._r1_elided(m_first, last)
        if res is None and end_tok == last:
            res = self._r9_other(m_first, last)
        if res is None and end_tok == last and self._bw_photo_pp(chain, cand, m_first, last):
            self.bw_photo = True
            return None
        if res is None and end_tok == last and self._bw_photo_of(chain, cand, m_first, last):
            self.bw_photo = True
            return None
        if res is None and end_tok == last:
            res = self._r5_pp(m_first, last)
        if res is None and end_tok == last:
            res = self._r1_appositive(m_first, last)
        if res is None:
            res = self._by_arcs(chain, cand, mods, m_first, end_tok)
        if res is None:
            res = self._r3_by_position(chain, m_first, end_tok)
        if res is None and end_tok == last:
            res = self._r3_postnominal(chain, cand, m_first, last)
        if res is None:
            return None
        if res.rule in ("R3", "R5") and res.obj is not None and res.obj < m_first:
            stop = res.verb.i if res.verb is not None and res.verb.i > res.obj else m_first
            res.obj = self._run_head_from(res.obj, stop)  # "the fire/nsubj hydrant ... is red"
        return self._finish(chain, cand, mods, m_first, res, nonhue)

    def _by_arcs(self, chain, cand, mods, m_first, end_tok) -> _Res | None:
        """R6, R1 and R3 by the parse's arcs."""
        doc = self.doc
        first, last = chain[0], chain[-1]
        f = doc[first]
        while f.dep_ == "conj" and f.head.i in chain and f.head.i != f.i:
            f = f.head
        head = f.head
        dep = f.dep_
        if dep == "dobj" and self._lem(head) in WEAR_VERBS and self._lem(head) != "have":
            w = self._wearer(head)
            return _Res(
                "R6", w.i if w is not None else None, end_tok, m_first, end_tok,
                garment=True, replacement="clothes",
            )  # fmt: skip
        if dep == "pobj" and head.lower_ == "in":
            p = head.head
            if self._lem(p) in DRESS_VERBS:
                w = self._wearer(p)
                return _Res(
                    "R6", w.i if w is not None else None, end_tok, m_first, end_tok,
                    garment=True, replacement="clothes",
                )  # fmt: skip
            if (p.pos_ in _NOUN_POS or p.pos_ == "PRON") and self._is_person(p):
                return _Res(
                    "R6", p.i, end_tok, m_first, end_tok, garment=True, replacement="clothes"
                )
            if p.pos_ in ("VERB", "AUX") and head.i == first - 1 - len(mods.get(first, [])):
                w = self._wearer(p)
                if w is not None and self._is_person(w):
                    return _Res(
                        "R6", w.i, end_tok, m_first, end_tok, garment=True, replacement="clothes"
                    )
            return None
        if (
            dep in ("amod", "compound", "nmod")
            and head.pos_ in _NOUN_POS
            and (head.i not in chain and head.i > last)
            and head.i - last <= 4
        ):
            return _Res("R1", head.i, end_tok, m_first, end_tok)
        if (
            head.pos_ in ("AUX", "VERB")
            and (self._lem(head) in PRED_VERBS or head.pos_ == "AUX")
            and dep in PRED_DEPS
            and head.i < first
        ):
            subj = self._subject_of(head)
            if head.i >= 1 and self.low[head.i - 1] in ("one", "ones"):
                subj = self.doc[head.i - 1]  # "bottles and one is dark blue": the bare one
            if self._is_participle(head):
                # "walls painted beige": a participle modifies the noun right before it
                pos = self._subject_by_position(head.i)
                if pos is not None:
                    subj = self.doc[pos]
            if subj is not None:
                if subj.lower_ in ("one", "ones"):  # "one is green and white": anaphoric
                    r = self._one(subj.i, subj.i)
                    return _Res("R3", subj.i, end_tok, m_first, end_tok, verb=head, lemma=r.lemma)
                obj = subj.i if subj.pos_ in _NOUN_POS or self._is_noun(subj.i) else None
                if obj is None and subj.lower_ in REL_PRONOUNS:
                    obj = self._noun_before(subj.i, limit=4)
                return _Res("R3", obj, end_tok, m_first, end_tok, verb=head)
        return None

    def _pred_removal(self, res: _Res, m_first: int) -> tuple[int, int]:
        """Token range a sparse rewrite removes for a predicate (R3/R5 with a verb): copulas go
        with their colour ("the car is white" -> "the car", "that is blue and white" whole);
        emission verbs keep their meaning ("glows red" -> "glows"); colouring verbs go too
        ("walls painted beige" -> "walls") unless a locative follows ("painted green on top"
        keeps "painted"); a colour coordinated after other adjectives goes with its joiner
        ("is small and white and gray" -> "is small")."""
        low, doc = self.low, self.doc
        v = res.verb
        assert v is not None
        end = res.rem_end
        start = res.rem_start
        lemma = self._lem(v).lower()
        # the first removed token of the colour: "in" for R5 forms
        col_start = start
        # other words between the verb and the colour ("is small and white")
        between = [k for k in range(v.i + 1, col_start) if low[k] not in ("in",)]
        if any(doc[k].pos_ == "ADJ" and low[k] not in self.lex.colour_bearing for k in between):
            k = col_start - 1
            while k > v.i and low[k] in ("and", ",", "or", "very", "all", "mostly"):
                k -= 1
            return k + 1, end
        b = v.i - 1
        while b >= 1 and low[b] in ("be", "been", "have"):
            b -= 1  # "to be turning"
        if lemma in EMIT_VERBS or (b >= 0 and low[b] == "to" and lemma in INFINITIVE_VERBS):
            # "glows red" -> "glows"; "to turn" stands without its colour ("waiting for the
            # light to turn green" -> "... to turn", "starting to turn brown" -> "starting to
            # turn"; "appears to be blue" -> "appears")
            return col_start, end
        nxt = self._next(end)
        whole = (self._pred_start(v, m_first), end)
        if lemma in COPULA_VERBS or v.pos_ == "AUX":
            return whole
        if nxt < self.n and (
            doc[nxt].pos_ == "ADV"
            and low[nxt] not in ("and",)
            or low[nxt]
            in ("on", "at", "along", "around", "near", "over", "from", "to", "for", "in")
        ):
            return col_start, end  # "painted green on top"
        return whole

    def _finish(
        self,
        chain: list[int],
        cand: dict[int, str],
        mods: dict[int, list[int]],
        m_first: int,
        res: _Res,
        nonhue: bool,
    ) -> ColorPhrase | None:
        doc, low, lex = self.doc, self.low, self.lex
        first, last = chain[0], chain[-1]
        rule = res.rule
        # lexicon restrictions for words with a common-noun sense
        for i in chain:
            e = lex.colours.get(cand[i])
            base = "R1" if rule in ("R8", "R9") else rule
            used = "R2" if len(chain) > 1 else base
            if e is not None and used not in e.rules and base not in e.rules and len(chain) == 1:
                self.log.append(f"{doc[i].text!r} at {doc[i].idx} is not a colour under {rule}")
                if e.other_sense:  # "navy planes", "rusty tracks": the other sense; it stays
                    self.nonsense.add(i)
                return None
        # a food word predicated of a food is its flavour: "two are chocolate, three are
        # glazed" (of doughnuts), "the frosting is chocolate"
        if rule == "R3" and len(chain) == 1 and self._flavour_of_food(chain[0], cand, res):
            self.log.append(f"{doc[first].text!r} at {doc[first].idx} is a flavour of a food")
            self.nonsense.add(first)
            return None
        # ethnicity terms: "a black woman", "two white men" name a group, not a colour; a
        # chain of two ("a white and black baby" of sheep) is a colour
        if (
            rule == "R1"
            and res.obj is not None
            and not mods.get(first)
            and len(chain) == 1
            and {cand[i] for i in chain} <= ETHNIC_COLOURS
            and self._is_person(doc[res.obj])
        ):
            self.log.append(f"{doc[first].text!r} at {doc[first].idx} on a person: not a colour")
            return None
        v = res.verb
        if self._negated(chain, v):
            c_span = (doc[first].idx, doc[last].idx + len(doc[last].text))
            self.log.append(f"negated colour {self.text[c_span[0] : c_span[1]]!r} dropped")
            if rule == "R3" and v is not None:  # "the car is not white" -> "the car"
                self.negated_removals.append(
                    self._span(min(res.rem_start, self._pred_start(v, m_first)), res.end)
                )
            else:
                self.negated_removals.append(self._span(m_first, res.end))
            return None
        obj = self._object(res.obj, res.run_start, res.lemma) if res.obj is not None else None
        if (
            obj is not None
            and low[res.obj] in PHOTO_WORDS
            and {cand[i] for i in chain} <= {"black", "white"}
        ):
            self.bw_photo = True
            return None
        # what sparse removes
        rem_start, rem_end = res.rem_start, res.rem_end
        end_tok = res.end
        if v is not None and rule in ("R3", "R5") and v.i < m_first:
            rem_start, rem_end = self._pred_removal(
                _Res(rule, res.obj, end_tok, rem_start, max(rem_end, end_tok), verb=v), m_first
            )
            # a coordinated verb phrase follows: "is painted red and sits" -> "sits";
            # "the sky is blue and clear" -> "the sky is clear"
            k = self._next(rem_end)
            if k + 2 < self.n and low[k] == "," and low[k + 1] == "and":
                k += 1  # "is yellow and blue, and stands at a station"
            if (
                k + 1 < self.n
                and low[k] in ("and", ",")
                and low[k + 1] not in lex.colour_bearing
                and doc[k + 1].pos_ in ("ADJ", "VERB", "AUX")
                and not (doc[k + 1].pos_ == "ADJ" and self._is_noun(k + 2))  # "red, back part"
            ):
                if doc[k + 1].pos_ == "ADJ" and rem_start <= v.i:
                    rem_start = m_first  # keep the copula for the next adjective
                rem_end = k
                end_tok = max(end_tok, k)
            # a removed verb phrase coordinated last: "has pink tiles ... and is painted blue"
            b = rem_start - 1
            after = self._next(rem_end)
            if (
                b >= 1
                and rem_start <= v.i
                and low[b] in ("and", ",")
                and (after >= self.n or doc[after].pos_ == "PUNCT")
            ):
                rem_start = b - 1 if low[b - 1] == "," else b
        if (
            rule == "R3"
            and res.obj is not None
            and low[res.obj] in ("one", "ones")
            and rem_start == res.obj + 1
            and rem_start <= (v.i if v is not None else -1)
        ):
            # "donuts one is pink one is brown": a bare "one" is nothing without its
            # predicate, the clause goes ("donuts, one is black" -> "donuts")
            rem_start = self._clause_start(res.obj)
        if rule == "R6" and not res.glued:
            rem_start, rem_end = m_first, end_tok
            while rem_start - 1 >= 0 and low[rem_start - 1] in ("all", "mostly", "entirely"):
                rem_start -= 1  # "wearing all white" -> "wearing clothes"
        if rem_end == last:
            tail = self._glued_tail(last)
            if tail is not None:  # "a green-eyed cat" -> "a cat", "a gold-trimmed clock"
                rem_end = tail
                end_tok = max(end_tok, tail)
        removal = [self._span(rem_start, rem_end)]
        final = rule
        if rule == "R1":
            if len(chain) > 1:
                final = "R2"
            elif obj is not None and obj.text != obj.head:
                final = "R7"
        if res.recovered:
            final += "+gz"
        final += res.how
        span_start = min(doc[m_first].idx, removal[0][0])
        span_end = max(doc[end_tok].idx + len(doc[end_tok].text), removal[-1][1])
        return ColorPhrase(
            phrase_id=0,
            rule=final,
            colours=self._terms(chain, cand, mods),
            object=obj,
            nonhue=nonhue,
            garment=res.garment,
            span=(span_start, span_end),
            removal=tuple(removal),
            replacement=res.replacement,
        )

    # -- outside phrases --------------------------------------------------------------------------
    def strays(self, phrases: Sequence[ColorPhrase]) -> list[Span]:
        """Removal spans of colour-bearing words outside every phrase ("gold" of "gold medal",
        "white" of "white wine", a dangling "red"), with their modifiers and chain joiners.
        Words with another sense (lexicon ``S``) that head their own phrase ("an orange on a
        bench", "the navy", "a white rose") and the non-colour word of a stop phrase whose
        lexicon row keeps it ("wine glasses", "ice cream") stay: there they are not colour
        words."""
        covered = [p.span for p in phrases] + self.negated_removals
        lex = self.lex
        keep = self.kept_words()
        idx: list[int] = []
        self.kept_spans = []
        for i, w in enumerate(self.low):
            if w not in lex.colour_bearing and not (
                w in ("colored", "coloured") and i >= 1 and self.low[i - 1] in ("-", *_MULTI)
            ):
                continue
            start = self.doc[i].idx
            if any(a <= start < b for a, b in covered):
                continue
            if i in keep:
                self.kept_spans.append(self._span(i, i))
                continue
            idx.append(i)
        spans: list[Span] = []
        starts: list[int] = []
        prev_end_tok = -10
        for i in idx:
            s = i
            while s - 1 >= 0 and (
                self.low[s - 1] in lex.modifiers
                or self.low[s - 1] in ("-", *_MULTI)
                or self.low[s - 1] in _DEGREE
            ):
                s -= 1
            gap = self.low[prev_end_tok + 1 : s]
            if spans and (
                len(gap) <= 2
                and all(g in CHAIN_JOINERS for g in gap)
                or self._an_joins(list(range(prev_end_tok + 1, s)), s)
            ):
                spans[-1] = (spans[-1][0], self._span(i, i)[1])
            else:
                spans.append(self._span(s, i))
                starts.append(s)
            prev_end_tok = i
        out: list[Span] = []
        for (a, b), s_tok in zip(spans, starts):
            # "a photo in black and white of a dog": the "in" goes with the colours
            e_tok = next(k for k in range(self.n) if self.ends[k] == b)
            if s_tok >= 1 and self.low[s_tok - 1] == "in" and not self._is_noun(self._next(e_tok)):
                a = self.doc[s_tok - 1].idx
            nxt = self._next(e_tok)
            if (
                self.bw_photo
                and nxt < self.n
                and self.low[nxt] == "of"
                and (s_tok == 0 or (s_tok == 1 and self.low[0] in ("a", "an", "the")))
            ):
                a, b = 0, self.ends[nxt]  # "[Black and white of] a person ..."
            tail = self._glued_tail(e_tok)
            if tail is not None:  # "a blue-illuminated mouse" -> "a mouse"
                b = self.ends[tail]
                e_tok = tail
            nxt = self._next(e_tok)
            if (
                s_tok >= 1
                and self.low[s_tok - 1] in ("a", "an")
                and (
                    nxt >= self.n
                    or self.doc[nxt].tag_ == "VBG"
                    or self.doc[nxt].pos_ in ("CCONJ", "PUNCT")
                )
                and not (
                    nxt < self.n and (self._is_noun(nxt) or self.low[nxt] in lex.colour_bearing)
                )
            ):
                # an elided noun ("an orange and a red having faces"): the article goes too,
                # with the joiner before it
                a = self.starts[s_tok - 1]
                if s_tok >= 2 and self.low[s_tok - 2] in ("and", "or"):
                    a = self.starts[s_tok - 2]
            out.append((a, b))
        # colour words glued inside one token by non-letters ("red\x00car"): remove the part
        pattern = _prefilter()
        for t in self.doc:
            w = self.low[t.i]
            if w in lex.colour_bearing or len(w) != len(t.text):
                continue
            for m in pattern.finditer(w):
                e = lex.lookup(m.group(0))
                if e is None or e.other_sense or m.group(0) in COLORED_WORDS:
                    continue
                a = t.idx + m.start()
                if not any(x <= a < y for x, y in covered):
                    out.append((a, t.idx + m.end()))
        return out + list(self.negated_removals)

    def kept_words(self) -> set[int]:
        """Colour-bearing tokens that are not colour words here and stay in every text: words
        with another sense heading their phrase ("an orange on a bench"), flower/fruit senses
        ("a white rose"), and stop-phrase words whose row says ``keep`` ("wine glasses")."""
        lex = self.lex
        out = set(self.nonsense)
        for i, w in enumerate(self.low):
            if w not in lex.colour_bearing:
                continue
            e = lex.lookup(w)
            if e is not None and e.other_sense and not self._is_noun(self._next(i)):
                out.add(i)
        out |= self.kept_stop_tokens
        return out


def _analyse_doc(
    doc: Doc, lex: Lexicon, with_mentions: bool, lemmatize: Callable[[Token], str] | None = None
) -> Analysis:
    ex = _Extractor(doc, lex, lemmatize)
    phrases = ex.run()
    mentions = find_mentions(ex.text, lex.colour_bearing, phrases) if with_mentions else []
    strays = ex.strays(phrases) if with_mentions else []
    return Analysis(
        text=ex.text,
        phrases=tuple(phrases),
        mentions=tuple(mentions),
        strays=tuple(strays),
        kept=tuple(ex.kept_spans),
        bw_photo_mention=ex.bw_photo,
        log=tuple(ex.log),
    )
