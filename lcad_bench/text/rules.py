"""The colour-phrase rule engine over one parsed spaCy ``Doc`` (docs/protocol.md#colour-phrase-extraction).

``extract(text)`` / ``extract_many(texts)`` return, per caption, the :class:`ColorPhrase` records
found in it; ``analyse(text)`` / ``analyse_many(texts)`` also return the object mentions the
description levels need. All spans are 0-based, end-exclusive character offsets into the input,
so ``text[start:end]`` is always the reported text.

How a colour word is linked to its object (rules of the protocol):

* R1  the colour directly modifies a noun ("a red bus"); the noun is found by position (the noun
  run right after the colour, which survives the parser's frequent mis-attachments) and, failing
  that, by the ``amod``/``compound``/``nmod`` arc;
* R2  a chain of colours joined by "and", "or", commas, slashes or hyphens ("black and white dog",
  "red, white and blue flag") is one phrase with several colours;
* R3  a predicate after be/look/appear/seem/turn/painted ("the car is white"): the subject, a
  relative pronoun resolving to the noun its clause modifies;
* R4  "X-colored", "X colored", "X color" before a noun;
* R5  "in X color(s)" / "X in color";
* R6  a colour as garment ("wearing yellow", "dressed in blue", "the goalkeeper in orange"): the
  wearer, with ``garment=True``;
* R7  compound objects keep their compound words ("a red fire hydrant" -> "fire hydrant").

Modifiers (light, dark, sky in "sky blue", the ``ish`` of "reddish") attach to their colour.
A negated colour ("not red") drops its phrase. Stop phrases of the lexicon ("gold medal",
"white wine") and "black and white photo" are not colour phrases; the latter sets
``bw_photo_mention``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from lcad_bench.text.lexicon import ALL_RULES, Lexicon, load_lexicon
from lcad_bench.text.records import (
    Analysis,
    ColorPhrase,
    ColourTerm,
    ObjectMention,
    ObjectRef,
    Span,
)
from lcad_bench.text.wordlists import (
    CHAIN_JOINERS,
    COLORED_WORDS,
    DRESS_VERBS,
    GARMENT_NOUNS,
    MENTION_STOP,
    PERSON_NOUNS,
    PHOTO_WORDS,
    PRED_DEPS,
    PRED_VERBS,
    REL_PRONOUNS,
    WEAR_VERBS,
)

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc, Token

RULES_VERSION = "1"


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


# --------------------------------------------------------------------------------------------
# the extractor


class _Extractor:
    def __init__(self, doc: Doc, lex: Lexicon) -> None:
        self.doc = doc
        self.lex = lex
        self.n = len(doc)
        self.low = [t.lower_ for t in doc]
        self.log: list[str] = []
        self.bw_photo = False
        self.negated_removals: list[Span] = []

    # -- small helpers ------------------------------------------------------------------------
    def _span(self, i: int, j: int) -> Span:
        """Character span of tokens i..j inclusive."""
        d = self.doc
        return (d[i].idx, d[j].idx + len(d[j].text))

    def _next(self, i: int, skip_hyphen: bool = True) -> int:
        j = i + 1
        while skip_hyphen and j < self.n and self.low[j] in ("-", "–"):
            j += 1
        return j

    def _is_noun(self, i: int) -> bool:
        return 0 <= i < self.n and self.doc[i].pos_ in ("NOUN", "PROPN")

    def _stop_tokens(self) -> set[int]:
        """Token indices inside lexicon stop phrases; sets bw_photo for "black and white photo"."""
        out: set[int] = set()
        texts = [t.text for t in self.doc]
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
            if w in lex.colours or w in lex.nonhue:
                if w in ("checked",) and not self._is_noun(self._next(i)):
                    continue  # "checked" is non-hue only when it modifies a noun
                cand[i] = w
            elif w in ("colored", "coloured"):
                # "multi-colored" / "multi colored" and bare "colored pencils" are non-hue
                prev = i - 1
                while prev >= 0 and self.low[prev] in ("-",):
                    prev -= 1
                if prev >= 0 and self.low[prev] == "multi":
                    cand[i] = "multicolored"
                elif prev >= 0 and (self.low[prev] in lex.colours):
                    continue  # "X colored": part of R4
                elif self._is_noun(self._next(i)) or self.doc[i].dep_ in ("acomp", "amod"):
                    cand[i] = "colored"
        return cand

    def _modifier_tokens(self, i: int, cand: dict[int, str]) -> list[int]:
        """Modifiers of colour token i: words right before it (a hyphen may sit between) that are
        lexicon modifiers, hue-compound words, -ly adverbs of non-hue words, or noun-sense colour
        words in a hue compound ("navy blue"); plus tree children that are lexicon modifiers."""
        lex = self.lex
        mods: list[int] = []
        j = i - 1
        if cand.get(i) == "multicolored" and self.low[i] in ("colored", "coloured"):
            while j >= 0 and self.low[j] in ("-", "–", "multi"):
                j -= 1  # "multi-colored" is one term; its first tokens are part of it
        while j >= 0:
            w = self.low[j]
            if w in ("-", "–"):
                j -= 1
                continue
            e = lex.colours.get(w)
            if (
                w in lex.modifiers
                or w in lex.hue_compounds
                or e is not None
                and j in cand
                and self._hue_compound_modifier(j, i, cand)
                or w in ("very", "really", "all", "mostly", "entirely")
                and (mods or not (j >= 1 and self.low[j - 1] == "in") and w in ("very", "really"))
            ):
                mods.append(j)
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

    def _hue_compound_modifier(self, j: int, i: int, cand: dict[int, str]) -> bool:
        """Is colour token j a modifier of the colour token i that follows it ("navy blue")?"""
        lex = self.lex
        wj, wi = self.low[j], self.low[i]
        ej, ei = lex.colours.get(wj), lex.colours.get(wi)
        if ej is None or ei is None:
            return False
        between = self.low[j + 1 : i]
        if any(b not in ("-", "–") for b in between):
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
                joiners_ok = all(self.low[k] in CHAIN_JOINERS for k in gap)
                ends_with_with = bool(gap) and self.low[gap[-1]] == "with"
                has_joiner = not gap or any(
                    self.low[k] in ("and", "or", ",", "/", "-", "&") for k in gap
                )
                if same_kind and joiners_ok and len(gap) <= 3 and not ends_with_with and has_joiner:
                    chains[-1].append(i)
                    continue
            chains.append([i])
        return chains

    def _noun_run_head(self, start: int) -> int | None:
        """The head noun of the noun run beginning at ``start``: adjectives, nouns, numbers and
        hyphens up to the last noun before anything else ("red double decker bus" -> bus)."""
        k = start
        last_noun = None
        while k < self.n:
            t = self.doc[k]
            nominal_vbg = (
                t.tag_ == "VBG"
                and t.dep_ in ("pobj", "dobj", "nsubj", "nsubjpass")
                and not any(c.dep_ in ("dobj", "prep", "advmod", "prt") for c in t.children)
            )
            if t.pos_ in ("NOUN", "PROPN") or nominal_vbg:
                if self.low[k] in self.lex.colour_bearing and last_noun is not None:
                    break
                last_noun = k
            elif (
                t.pos_ in ("ADJ", "NUM")
                or t.text in ("-", "–")
                or (
                    t.pos_ == "VERB" and t.tag_ in ("VBN", "VBG") and t.dep_ in ("amod", "compound")
                )
            ):
                if last_noun is not None and t.text not in ("-", "–"):
                    break
            else:
                break
            k += 1
        if last_noun is None:
            return None
        # the noun run must not end at a noun that governs an "of"-phrase back at the colour
        return last_noun

    def _object(self, h: int, run_start: int | None = None) -> ObjectRef:
        doc = self.doc
        tok = doc[h]
        # compound words directly left of the head, not colours or modifiers: by the parse's
        # compound arcs, or (when the head was found by position) every noun of the noun run
        s = h
        while (
            s - 1 >= 0
            and doc[s - 1].pos_ in ("NOUN", "PROPN")
            and (
                doc[s - 1].dep_ in ("compound", "nmod", "amod")
                or (run_start is not None and s - 1 >= run_start)
            )
            and self.low[s - 1] not in self.lex.colour_bearing
            and self.low[s - 1] not in (self.lex.modifiers)
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
            elif w not in ("-", "–", "and", ",", "or", "/", "very"):
                break
            k -= 1
        noun_span = (doc[left].idx, tok.idx + len(tok.text))
        return ObjectRef(
            text=doc.text[text_span[0] : text_span[1]],
            lemma=tok.lemma_.lower(),
            head=tok.text,
            span=text_span,
            head_span=(tok.idx, tok.idx + len(tok.text)),
            noun_span=noun_span,
            plural=tok.tag_ in ("NNS", "NNPS"),
        )

    def _subject_of(self, v: Token) -> Token | None:
        for ch in v.children:
            if ch.dep_ in ("nsubj", "nsubjpass", "expl"):
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
        if v.dep_ in ("acl", "relcl", "advcl", "amod") and v.head.pos_ in ("NOUN", "PROPN", "PRON"):
            return v.head
        if v.dep_ == "conj":
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
        return min(start, first)

    def _garment_by_position(self, m_first: int, end_tok: int) -> int | None:
        """R6 by word order: "<person> in (all) X", "dressed (all) in X", "wearing X" where X is
        not followed by a garment noun (then R1 names the garment). Returns the wearer's token
        index, -1 for a garment colour without a wearer, or None when the pattern is absent."""
        low = self.low
        nxt = self._next(end_tok)
        h = self._noun_run_head(nxt)
        if h is not None and (
            low[h] in GARMENT_NOUNS or self.doc[h].lemma_.lower() in GARMENT_NOUNS
        ):
            return None  # the garment is named: R1 handles it
        p = m_first - 1
        while p >= 0 and low[p] in ("all", "mostly", "entirely", "mainly"):
            p -= 1
        if p < 0:
            return None
        if low[p] == "in":
            q = p - 1
            while (
                q >= 0
                and low[q] in ("all", "dressed", "clad", "clothed", "dress")
                and not (
                    self.doc[q].lemma_ in DRESS_VERBS or low[q] in ("dressed", "clad", "clothed")
                )
            ):
                q -= 1
            if q < 0:
                return None
            tq = self.doc[q]
            if tq.lemma_ in DRESS_VERBS or low[q] in ("dressed", "clad", "clothed"):
                w = self._wearer(tq)
                if w is None:
                    w = self._person_before(q)
                return w.i if w is not None else -1
            if tq.pos_ in ("NOUN", "PROPN") and (
                low[q] in PERSON_NOUNS or tq.lemma_.lower() in PERSON_NOUNS
            ):
                return q
            if tq.lemma_ == "be":  # "a young man is in blue and white"
                w = self._subject_of(tq)
                if w is not None and (w.lower_ in PERSON_NOUNS or w.lemma_.lower() in PERSON_NOUNS):
                    return w.i
            return None
        tp = self.doc[p]
        if tp.lemma_ in ("wear", "don", "sport") and tp.pos_ in ("VERB", "AUX", "NOUN"):
            w = self._wearer(tp)
            if w is None:
                w = self._person_before(p)
            return w.i if w is not None else -1
        return None

    def _person_before(self, q: int) -> Token | None:
        for k in range(q - 1, max(-1, q - 6), -1):
            t = self.doc[k]
            if t.pos_ in ("NOUN", "PROPN"):
                return t
        return None

    def _wearer(self, v: Token) -> Token | None:
        subj = self._subject_of(v)
        if subj is not None and subj.pos_ in ("NOUN", "PROPN"):
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
        phrases: list[ColorPhrase] = []
        for chain in chains:
            p = self._resolve(chain, cand, mods)
            if p is not None:
                phrases.append(p)
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
                while k >= 0 and self.low[k] in ("-", "–", "multi"):
                    t_start = self.doc[k].idx
                    k -= 1
            if e is not None:
                canonical, category = e.canonical, e.category
            else:
                ne = lex.nonhue.get(key)
                canonical, category = (ne.canonical if ne else key), None
            m_idx = mods.get(i, [])
            m_text = [self.low[j] for j in m_idx if self.low[j] not in ("very", "really", "all")]
            m_spans = [
                self._span(j, j) for j in m_idx if self.low[j] not in ("very", "really", "all")
            ]
            if e is not None and e.implied_modifier:
                m_text.append(e.implied_modifier)
                m_spans.append((tok.idx, tok.idx + len(tok.text)))
            t_end = tok.idx + len(tok.text)
            terms.append(
                ColourTerm(
                    text=self.doc.text[t_start:t_end],
                    canonical=canonical,
                    category=category,
                    span=(t_start, t_end),
                    modifiers=tuple(m_text),
                    modifier_spans=tuple(m_spans),
                )
            )
        return tuple(terms)

    def _negated(self, chain: list[int], v: Token | None) -> bool:
        toks = [self.doc[i] for i in chain] + ([v] if v is not None else [])
        for t in toks:
            if any(ch.dep_ == "neg" for ch in t.children):
                return True
        first = chain[0]
        return first > 0 and self.low[first - 1] in ("not", "n't", "no", "never")

    def _resolve(
        self, chain: list[int], cand: dict[int, str], mods: dict[int, list[int]]
    ) -> ColorPhrase | None:
        doc, low, lex = self.doc, self.low, self.lex
        first, last = chain[0], chain[-1]
        nonhue = cand[first] not in lex.colours
        m_first = min([first, *mods.get(first, [])])
        if cand[first] == "multicolored" and low[first] in ("colored", "coloured"):
            while m_first - 1 >= 0 and low[m_first - 1] in ("-", "–", "multi"):
                m_first -= 1
        start_tok = m_first
        rule = None
        obj_tok: int | None = None
        garment = False
        end_tok = last
        rem_start, rem_end = m_first, last
        replacement = ""
        v = None
        run_start: int | None = None

        j = self._next(last)
        # R4 / R5: "X colored", "X-colored", "X color", "in X color(s)"
        if j < self.n and low[j] in COLORED_WORDS:
            cw = doc[j]
            p = m_first - 1
            while p >= 0 and low[p] in ("a", "an", "the", "all", "mostly", "mainly"):
                p -= 1
            if p >= 0 and low[p] == "in":
                rule = "R5"
                prep = doc[p]
                att = prep.head
                end_tok = j
                if att.pos_ in ("NOUN", "PROPN") and att.i < p:
                    obj_tok = att.i
                    rem_start, rem_end = p, j
                else:
                    v = att
                    subj = self._subject_of(att)
                    obj_tok = (
                        subj.i if subj is not None and subj.pos_ in ("NOUN", "PROPN") else None
                    )
                    if att.lemma_ == "be" or att.pos_ == "AUX":
                        rem_start, rem_end = self._pred_start(att, p), j
                    else:
                        rem_start, rem_end = p, j
            else:
                rule = "R4"
                end_tok = j
                rem_start, rem_end = m_first, j
                h = self._noun_run_head(j + 1)
                if h is not None:
                    obj_tok = h
                elif (
                    cw.head.pos_ in ("NOUN", "PROPN") and cw.head.i != j and cw.head.i not in chain
                ):
                    obj_tok = cw.head.i
                else:
                    # "the car is red colored": a predicate
                    vt = cw.head if cw.head.i != j else doc[first].head
                    subj = self._subject_of(vt)
                    if subj is not None and subj.pos_ in ("NOUN", "PROPN"):
                        obj_tok = subj.i
                        v = vt
                        rem_start = self._pred_start(vt, m_first)
        # "X in color" trailing: extend the construction
        if rule is None and j + 1 < self.n and low[j] == "in" and low[j + 1] in COLORED_WORDS:
            end_tok = j + 1
        if rule is None:
            g = self._garment_by_position(m_first, end_tok)
            if g is not None:
                rule, garment, replacement = "R6", True, "clothes"
                obj_tok = g if g >= 0 else None
        if rule is None:
            # R1 by position: a noun run right after the chain
            nxt = self._next(end_tok)
            h = self._noun_run_head(nxt) if end_tok == last else None
            if h is not None and low[h] not in PHOTO_WORDS | {"color", "colour"}:
                rule, obj_tok, run_start = "R1", h, nxt
            elif h is not None and low[h] in PHOTO_WORDS:
                if {cand[i] for i in chain} <= {"black", "white"} and len(chain) == 2:
                    self.bw_photo = True
                    return None
                rule, obj_tok = "R1", h
        if rule is None:
            f = doc[first]
            while f.dep_ == "conj" and f.head.i in chain and f.head.i != f.i:
                f = f.head
            head = f.head
            dep = f.dep_
            # R6: garments
            if dep == "dobj" and head.lemma_ in WEAR_VERBS and head.lemma_ != "have":
                w = self._wearer(head)
                rule, garment = "R6", True
                obj_tok = w.i if w is not None else None
                replacement = "clothes"
            elif dep == "pobj" and head.lower_ == "in":
                p = head.head
                if p.lemma_ in DRESS_VERBS:
                    w = self._wearer(p)
                    rule, garment, replacement = "R6", True, "clothes"
                    obj_tok = w.i if w is not None else None
                elif p.pos_ in ("NOUN", "PROPN") and (
                    p.lemma_.lower() in PERSON_NOUNS or p.lower_ in PERSON_NOUNS
                ):
                    rule, garment, replacement = "R6", True, "clothes"
                    obj_tok = p.i
                elif p.pos_ in ("VERB", "AUX") and head.i == first - 1 - len(mods.get(first, [])):
                    w = self._wearer(p)
                    if w is not None and (
                        w.lemma_.lower() in PERSON_NOUNS or w.lower_ in PERSON_NOUNS
                    ):
                        rule, garment, replacement = "R6", True, "clothes"
                        obj_tok = w.i
            elif (
                dep in ("amod", "compound", "nmod")
                and head.pos_ in ("NOUN", "PROPN")
                and (head.i not in chain and head.i > last)
            ):
                rule, obj_tok = "R1", head.i
            elif (
                head.pos_ in ("AUX", "VERB")
                and (head.lemma_ in PRED_VERBS or head.pos_ == "AUX")
                and dep in PRED_DEPS
            ):
                subj = self._subject_of(head)
                if subj is not None:
                    rule = "R3"
                    v = head
                    obj_tok = subj.i if subj.pos_ in ("NOUN", "PROPN") else None
                    rem_start, rem_end = self._pred_start(head, m_first), end_tok
                    k = self._next(end_tok)
                    if (
                        k + 1 < self.n
                        and low[k] in ("and", ",")
                        and doc[k + 1].pos_ in ("ADJ", "VERB")
                        and low[k + 1] not in lex.colour_bearing
                        and m_first > head.i
                    ):
                        # "the sky is blue and clear" -> "the sky is clear"
                        rem_start, rem_end = m_first, k
                        end_tok = k
        if rule is None:
            return None
        # lexicon restrictions for words with a common-noun sense
        used_rule = "R2" if len(chain) > 1 else rule
        for i in chain:
            e = lex.colours.get(cand[i])
            if (
                e is not None
                and used_rule not in e.rules
                and rule not in e.rules
                and len(chain) == 1
            ):
                self.log.append(f"{doc[i].text!r} at {doc[i].idx} is not a colour under {rule}")
                return None
        if self._negated(chain, v):
            c_span = (doc[first].idx, doc[last].idx + len(doc[last].text))
            self.log.append(f"negated colour {doc.text[c_span[0] : c_span[1]]!r} dropped")
            if rule == "R3" and v is not None:  # "the car is not white" -> "the car"
                self.negated_removals.append(
                    self._span(min(rem_start, self._pred_start(v, m_first)), end_tok)
                )
            else:
                self.negated_removals.append(self._span(m_first, end_tok))
            return None
        obj = self._object(obj_tok, run_start) if obj_tok is not None else None
        if (
            obj is not None
            and low[obj_tok] in PHOTO_WORDS
            and {cand[i] for i in chain} <= {"black", "white"}
        ):
            self.bw_photo = True
            return None
        final_rule = "R2" if len(chain) > 1 else rule
        if final_rule == "R1" and obj is not None and obj.text != obj.head:
            final_rule = "R7"
        removal = [self._span(rem_start, max(rem_end, end_tok) if rule in ("R3",) else rem_end)]
        if rule in ("R1", "R6") or (rule == "R3" and end_tok > last):
            removal = [self._span(rem_start, end_tok)]
        span_start = min(doc[start_tok].idx, removal[0][0])
        span_end = max(doc[end_tok].idx + len(doc[end_tok].text), removal[-1][1])
        return ColorPhrase(
            phrase_id=0,
            rule=final_rule,
            colours=self._terms(chain, cand, mods),
            object=obj,
            nonhue=nonhue,
            garment=garment,
            span=(span_start, span_end),
            removal=tuple(removal),
            replacement=replacement,
        )

    def strays(self, phrases: Sequence[ColorPhrase]) -> list[Span]:
        """Removal spans of colour-bearing words outside every phrase ("gold" of "gold medal",
        "white" of "white wine", a dangling "red"), with their modifiers and chain joiners.
        Words with another sense (lexicon ``S``) that head their own phrase ("an orange on a
        bench", "the navy") are kept: there they are not colour words."""
        covered = [p.span for p in phrases] + self.negated_removals
        lex = self.lex
        idx: list[int] = []
        for i, w in enumerate(self.low):
            if w not in lex.colour_bearing and not (
                w in ("colored", "coloured") and i >= 1 and self.low[i - 1] in ("-", "multi")
            ):
                continue
            start = self.doc[i].idx
            if any(a <= start < b for a, b in covered):
                continue
            e = lex.lookup(w)
            if e is not None and e.other_sense and not self._is_noun(self._next(i)):
                continue
            idx.append(i)
        spans: list[Span] = []
        starts: list[int] = []
        prev_end_tok = -10
        for i in idx:
            s = i
            while s - 1 >= 0 and (
                self.low[s - 1] in lex.modifiers or self.low[s - 1] in ("-", "multi")
            ):
                s -= 1
            gap = self.low[prev_end_tok + 1 : s]
            if spans and len(gap) <= 2 and all(g in CHAIN_JOINERS for g in gap):
                spans[-1] = (spans[-1][0], self._span(i, i)[1])
            else:
                spans.append(self._span(s, i))
                starts.append(s)
            prev_end_tok = i
        out: list[Span] = []
        for (a, b), s_tok in zip(spans, starts):
            # "a photo in black and white of a dog": the "in" goes with the colours
            e_tok = next(k for k in range(self.n) if self.doc[k].idx + len(self.doc[k].text) == b)
            if s_tok >= 1 and self.low[s_tok - 1] == "in" and not self._is_noun(self._next(e_tok)):
                a = self.doc[s_tok - 1].idx
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

    def mentions(self, phrases: Sequence[ColorPhrase]) -> list[ObjectMention]:
        coloured = {p.object.head_span for p in phrases if p.object is not None and not p.nonhue}
        seen: set[Span] = set()
        out: list[ObjectMention] = []
        for chunk in self.doc.noun_chunks:
            root = chunk.root
            if root.pos_ not in ("NOUN", "PROPN"):
                continue
            w = root.lower_
            if w in MENTION_STOP or w in self.lex.colour_bearing or not any(c.isalpha() for c in w):
                continue
            hs = (root.idx, root.idx + len(root.text))
            seen.add(hs)
            out.append(ObjectMention(root.text, root.lemma_.lower(), hs, hs in coloured))
        for p in phrases:
            if p.object is not None and p.object.head_span not in seen and not p.nonhue:
                seen.add(p.object.head_span)
                out.append(ObjectMention(p.object.head, p.object.lemma, p.object.head_span, True))
        return sorted(out, key=lambda m: m.span)


def _analyse_doc(doc: Doc, lex: Lexicon, with_mentions: bool) -> Analysis:
    ex = _Extractor(doc, lex)
    phrases = ex.run()
    mentions = ex.mentions(phrases) if with_mentions else []
    strays = ex.strays(phrases) if with_mentions else []
    return Analysis(
        text=doc.text,
        phrases=tuple(phrases),
        mentions=tuple(mentions),
        strays=tuple(strays),
        bw_photo_mention=ex.bw_photo,
        log=tuple(ex.log),
    )
