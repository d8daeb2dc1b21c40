"""Description levels (docs/protocol.md#description-levels).

*Natural* level of a caption, from its hue phrases P and object mentions M:

==========  ===================================================================
none        P = {} and M = {} (empty or generic text)
sparse      P = {} and M != {} (``nonhue_only`` when non-hue colour words occur)
complete    P != {}, every mention carries a phrase, and cov >= 0.5 where
            annotations exist (cov = share of large categories named by P)
partial     P != {} and not complete
==========  ===================================================================

*Controlled* variants of one caption:

* complete = the caption verbatim;
* partial  = colour kept on a seeded, non-empty, proper subset of the m hue phrases
  (k uniform in 1..m-1, then a uniform k-subset; RNG seeded by
  sha256("partial|{base_seed}|{pair_id}")); the other phrases and every non-hue word lose
  their colour words. Defined only for m >= 2: with 0 or 1 hue phrases ``partial`` is None
  (there is no proper non-empty subset), as the protocol builds controlled levels from pairs
  with m >= 2;
* sparse   = every colour word removed (hue and non-hue, inside or outside phrases), objects
  kept: R1/R2/R4/R7 colour words and their modifiers go, R3/R5 predicates go whole
  ("the car is white" -> "the car"), garment colours become "clothes"
  ("a boy wearing yellow" -> "a boy wearing clothes"), articles are repaired (an -> a);
* none     = "".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

from lcad_bench.protocol import COVERAGE_THRESHOLD, LEVELS, choose_partial
from lcad_bench.text.lexicon import load_lexicon
from lcad_bench.text.records import Analysis, ColorPhrase, Span
from lcad_bench.text.wordlists import (
    COLORED_WORDS,
    DEGREE_WORDS,
    NUMBER_WORDS,
    PARTICLE_MODIFIERS,
    TINT_WORDS,
)


@dataclass(frozen=True, slots=True)
class NaturalLevel:
    """The natural level of a caption and how it was decided."""

    level: str
    basis: str  # "caption_only" | "annotations"
    nonhue_only: bool = False
    coverage: float | None = None
    n_phrases: int = 0
    n_mentions: int = 0
    n_mentions_coloured: int = 0


def natural_level(
    analysis: Analysis,
    category_of: Callable[[str], str | None] | None = None,
    large_categories: Collection[str] | None = None,
    coverage_threshold: float = COVERAGE_THRESHOLD,
) -> NaturalLevel:
    """Natural level of an analysed caption.

    Without annotations (``category_of`` None) every mention counts (``caption_only``). With
    them, M keeps only mentions whose lemma maps to a category, and ``large_categories`` (the
    categories whose union mask covers >= 5% of the image) gives the coverage test.
    """
    phrases = analysis.hue_phrases
    mentions = list(analysis.mentions)
    basis = "caption_only"
    if category_of is not None:
        basis = "annotations"
        mentions = [m for m in mentions if category_of(m.lemma)]
    n_col = sum(1 for m in mentions if m.has_colour)
    if not phrases:
        nonhue = any(p.nonhue for p in analysis.phrases)
        return NaturalLevel(
            "sparse" if mentions else "none", basis, nonhue_only=nonhue,
            n_mentions=len(mentions), n_mentions_coloured=n_col,
        )  # fmt: skip
    coverage = None
    if category_of is not None and large_categories is not None:
        big = set(large_categories)
        named = {category_of(p.object.lemma) for p in phrases if p.object is not None}
        coverage = len(big & named) / len(big) if big else 1.0
    complete = n_col == len(mentions) and (coverage is None or coverage >= coverage_threshold)
    return NaturalLevel(
        "complete" if complete else "partial", basis, coverage=coverage,
        n_phrases=len(phrases), n_mentions=len(mentions), n_mentions_coloured=n_col,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Descriptions:
    """The controlled descriptions of one caption.

    A generated text (``partial``, ``sparse``) that fails :func:`validate` is never emitted: it
    is None here and ``problems`` says why ("sparse: dangling article 'a,'"); builders send such
    a pair to the manifest's ``review`` list."""

    complete: str
    partial: str | None
    sparse: str | None
    none: str = ""
    kept_phrase_ids: tuple[int, ...] | None = None  # hue phrases keeping colour at partial
    problems: tuple[str, ...] = ()

    def get(self, level: str) -> str | None:
        """Text at ``level`` (None when the level is undefined for this caption)."""
        if level not in LEVELS:
            raise KeyError(f"unknown level {level!r}; levels are {', '.join(LEVELS)}")
        return getattr(self, level)

    def as_dict(self) -> dict[str, str | None]:
        """{level: text}."""
        return {lv: self.get(lv) for lv in LEVELS}


def controlled_levels(
    analysis: Analysis, pair_id: str | None = None, base_seed: int = 0
) -> Descriptions:
    """Complete / partial / sparse / none variants of an analysed caption.

    ``pair_id`` seeds the partial subset (default: the caption text itself), so the same pair and
    seed always give the same text. Each generated text is validated; a failing one is replaced
    by None and its problems recorded (docs/protocol.md#controlled-levels).
    """
    text = analysis.text
    if not analysis.phrases and not analysis.strays:
        # nothing to remove: sparse is the caption itself (as valid as the caption), no partial
        return Descriptions(complete=text, partial=None, sparse=text)
    hue = list(analysis.hue_phrases)
    nonhue = [p for p in analysis.phrases if p.nonhue]
    pid = text if pair_id is None else pair_id
    chosen = choose_partial(len(hue), pid, base_seed)
    problems: list[str] = []
    sparse: str | None = rewrite(text, [*analysis.phrases], analysis.strays, keep=())
    bad = validate(text, sparse, allowed_colour_words=len(analysis.kept))
    if bad:
        problems += [f"sparse: {b}" for b in bad]
        sparse = None
    partial = None
    kept_ids = None
    if chosen is not None:
        kept_ids = tuple(hue[i].phrase_id for i in chosen)
        keep = [hue[i] for i in chosen]
        drop = [p for i, p in enumerate(hue) if i not in chosen] + nonhue
        partial = rewrite(text, drop, analysis.strays, keep=keep)
        allowed = len(analysis.kept) + sum(_colour_word_count(text, p) for p in keep)
        bad = validate(text, partial, allowed_colour_words=allowed, exact=True)
        if bad:
            problems += [f"partial: {b}" for b in bad]
            partial = None
    return Descriptions(
        complete=text, partial=partial, sparse=sparse, none="", kept_phrase_ids=kept_ids,
        problems=tuple(problems),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# text surgery

_VOWEL_SOUND = re.compile(
    r"^(?:[aeio]|u(?!ni|s[eu]|ti|r[aeiou]|ku|ke)|hour|honest|heir|honou?r)", re.IGNORECASE
)
_CONSONANT_EXC = re.compile(r"^(?:one\b|once\b|eu|ewe|uni|use|usu|uti|ura|ure|uro)", re.IGNORECASE)
_ARTICLE_END = re.compile(r"(?:^|(?<=\W))([Aa]n?)(\s+)$")
_WORD_START = re.compile(r"^\s*([\w'][\w'-]*)")
# a joiner right after a removed colour ("a [pink] and fuzzy hat") or right before it
# ("a big[, blue] umbrella"): removed with it when it lies inside the phrase's noun phrase
_JOINER_AFTER = re.compile(
    r"^\s*(?:,\s*(?:and\s+|or\s+|but\s+)?|and\s+|or\s+|but\s+|yet\s+|&\s+|/\s*|n'\s+)"
)
_NUMBER_AFTER = re.compile(rf"\s+(?:{'|'.join(sorted(NUMBER_WORDS))}|\d+)\b", re.IGNORECASE)
_JOINER_BEFORE = re.compile(r"(?:\s*,|\s+and|\s+or|\s*&|\s*/)\s*$")


def _article_for(word: str) -> str:
    if _CONSONANT_EXC.match(word):
        return "a"
    return "an" if _VOWEL_SOUND.match(word) else "a"


def _fix_article(left: str, right: str, caps: bool = False) -> str:
    """Repair a/an at the end of ``left`` for the word starting ``right`` (dropped before the
    pronoun "one": "next to a [brown] one" -> "next to one"). The article keeps its case pattern: capitalised stays
    capitalised, and in an all-capitals caption (``caps``) "A [PINK] UMBRELLA" -> "AN
    UMBRELLA"."""
    m = _ARTICLE_END.search(left)
    w = _WORD_START.match(right)
    if not m or not w:
        return left
    if w.group(1).lower() in ("one", "ones"):
        return left[: m.start(1)]
    art = _article_for(w.group(1))
    old = m.group(1)
    if caps and old.isupper():
        new = art.upper()
    else:
        new = art.capitalize() if old[0].isupper() else art
    return left[: m.start(1)] + new + left[m.end(1) :]


def _is_caps(text: str) -> bool:
    """An all-capitals caption: a cased letter and none lower-case (one pass in C each)."""
    return text.isupper()


def _match_case(replacement: str, removed: str) -> str:
    """The replacement word in the case of the text it replaces ("IN PINK" -> "IN CLOTHES")."""
    return replacement.upper() if _is_caps(removed) else replacement


def _merge(spans: Iterable[tuple[int, int, str]], text: str = "") -> list[tuple[int, int, str]]:
    """Sorted, merged edits; edits separated only by spaces or hyphens merge too ("black-
    spotted": two removals leave no orphan hyphen)."""
    out: list[tuple[int, int, str]] = []
    for s, e, rep in sorted(spans):
        if out and (s <= out[-1][1] or (text and not text[out[-1][1] : s].strip(" -–"))):
            ps, pe, prep = out[-1]
            out[-1] = (ps, max(pe, e), prep or rep)
        else:
            out.append((s, e, rep))
    return out


def _phrase_edits(
    text: str, p: ColorPhrase, removed: set[int], others: Iterable[ColorPhrase]
) -> list[tuple[int, int, str]]:
    """The edits that remove phrase ``p``: its removal ranges, a joiner next to them inside
    its noun phrase, and for an elided noun ("a black and a [white] sheep" with black kept)
    the joiner and article between the kept colour and this one."""
    edits = [(s, e, p.replacement if k == 0 else "") for k, (s, e) in enumerate(p.removal)]
    if not edits or p.replacement or p.object is None:
        return edits
    s, e, _ = edits[0]
    e2 = edits[-1][1]
    ns, _ = p.object.noun_span
    head_start = p.object.span[0]
    m = _JOINER_AFTER.match(text[e2:])
    if m and e2 + m.end() <= head_start and e2 < head_start:
        edits[-1] = (edits[-1][0], e2 + m.end(), edits[-1][2])
    else:
        b = _JOINER_BEFORE.search(text[:s])
        if b and b.start() >= ns and s <= head_start:
            edits[0] = (b.start(), edits[0][1], edits[0][2])
    for q in others:  # elided noun: q (R9) kept, p removed
        if (
            q.phrase_id not in removed
            and q.rule.startswith("R9")
            and q.object is not None
            and q.object.head_span == p.object.head_span
            and q.colours
            and q.colours[-1].span[1] <= s
            and not _NUMBER_AFTER.search(text[q.colours[-1].span[1] : s])
        ):
            # "a black and a [white] sheep" -> "a black sheep"; but "a green and two [red]
            # buses" keeps its number: "a green and two buses"
            edits.append((q.colours[-1].span[1], s, ""))
    return edits


def rewrite(
    text: str,
    phrases: Iterable[ColorPhrase],
    strays: Iterable[Span] = (),
    keep: Iterable[ColorPhrase] = (),
) -> str:
    """``text`` with the colour words of ``phrases`` (and the ``strays``) removed; ``keep`` are
    the phrases that keep their colour (they matter for elided nouns). Only the edited places
    change: joiners of a removed colour inside its noun phrase go with it, a/an is repaired,
    spaces and punctuation are joined at each edit, and an initial capital is kept; the rest
    of the text stays verbatim."""
    phrases = list(phrases)
    keep = list(keep)
    removed = {p.phrase_id for p in phrases}
    allp = phrases + keep
    edits: list[tuple[int, int, str]] = []
    for p in phrases:
        if p.rule.startswith("R9") and any(
            q.object is not None
            and p.object is not None
            and q.object.head_span == p.object.head_span
            and q.phrase_id != p.phrase_id
            for q in keep
        ):
            # the elided noun's first colour goes with "and a": "A [black and a] white sheep"
            edits.extend((s, e, "") for s, e in p.removal)
            continue
        edits.extend(_phrase_edits(text, p, removed, allp))
        if p.rule.startswith("R9") and p.removal:
            # both colours of "[a green and] two red buses" go: the number counted only the
            # second colour's objects, so it goes too ("double decker buses")
            m = _NUMBER_AFTER.match(text, p.removal[-1][1])
            if m:
                edits.append((p.removal[-1][1], m.end(), ""))
    edits.extend((s, e, "") for s, e in strays)
    if not edits:
        return text
    out = text
    caps = _is_caps(text)
    for s, e, rep in reversed(_merge(edits, text)):
        left, right = out[:s], out[e:]
        if rep:
            out = _join(_join(left, _match_case(rep, text[s:e])), right)
        else:
            left = _fix_article(left, right, caps)
            out = _join(left, right)
    out = out.strip()
    if text[:1].isupper() and out[:1].islower():
        out = out[0].upper() + out[1:]
    return out


def _join(left: str, right: str) -> str:
    """Join two pieces at an edit: one space between words, none before closing punctuation,
    no doubled punctuation, no punctuation or hyphen left at the start."""
    lt = left.rstrip(" \t")
    rt = right.lstrip(" \t")
    if rt.startswith(("-", "–")) and (
        not lt or left[-1:] in (" ", "\t", "(") or not lt[-1:].isalnum()
    ):
        rt = rt[1:].lstrip(" \t")  # orphan hyphen of "x-colored", "a [red]-brick wall"
    if lt.endswith(("-", "–")) and not rt[:1].isalnum():
        lt = lt[:-1].rstrip(" \t")
    if not lt.strip():
        return lt + rt.lstrip(",;: \t")
    if lt[-1:] in ",;:" and rt[:1] in ",.;:!?":
        lt = lt[:-1].rstrip(" \t")
    if not rt:
        return lt
    # a double quote opens when an even number precede it: no space inside the quotes
    # ('the "[blue] screen of death"' -> 'the "screen of death"')
    if lt[-1:] in ('"', "\u201c") and (lt[-1] == "\u201c" or lt.count('"') % 2 == 1):
        return lt + rt
    if rt[:1] in ('"', "\u201d") and (rt[0] == "\u201d" or lt.count('"') % 2 == 1):
        return lt + rt
    if rt[:1] in ",.;:!?)'\"" and rt[:2] not in ("' ", '" '):
        if rt[:1] in "'\"":
            return lt + " " + rt
        return lt + rt
    return lt + " " + rt


# --------------------------------------------------------------------------------------------
# the validator (docs/protocol.md#controlled-levels)

_ART = r"(?:a|an|the)"
_PREP = (
    r"(?:with|of|in|on|at|by|from|into|onto|for|like|near|under|over|behind|beside|between|"
    r"against|among|around|through|toward|towards|under|underneath|inside|outside)"
)
_CHECKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dangling article", re.compile(rf"\b{_ART}\s*(?:[,.;:!?)]|$)", re.I)),
    (
        "dangling article",
        re.compile(
            rf"\b{_ART}\s+(?:and|or|but|with|of|in|on|at|to|by|for|from|{_ART}|is|are|was|were|"
            r"has|have|had|having|being)\b",
            re.I,
        ),
    ),
    ("dangling preposition", re.compile(rf"\b{_PREP}\s*(?:[,.;:!?)]|$)", re.I)),
    ("dangling preposition", re.compile(rf"\b{_PREP}\s+(?:and|or|but)\b", re.I)),
    ("dangling conjunction", re.compile(r"\b(?:and|or|but)\s*(?:[,.;:!?)]|$)", re.I)),
    ("dangling conjunction", re.compile(r"\b(?:and|or|but)\s+(?:and|or|but)\b", re.I)),
    ("dangling conjunction", re.compile(r"^\W*(?:and|or|but)\b", re.I)),
    ("dangling copula", re.compile(r"\b(?:is|are|was|were|be|been|being)\s*(?:[,.;:!?]|$)", re.I)),
    ("doubled punctuation", re.compile(r"[,;:]\s*[,.;:!?]|\.\s*\.")),
    ("leading punctuation", re.compile(r"^\s*[,.;:!?\-–]")),
    ("leading preposition", re.compile(r"^\W*(?:of|with|to|from|by)\b", re.I)),
    ("article agreement", re.compile(r"\ban\s+(?![aeiou]|h(?:our|onest|eir|onou?r))[a-z]", re.I)),
    ("article agreement", re.compile(r"\ba\s+(?:[aei]|o(?!ne\b|nce\b))\w", re.I)),
    ("orphan hyphen", re.compile(r"(?:^|\s)[-–](?:\s|$)|(?<=\w)[-–](?=\s|$)")),
    ("orphan hyphen", re.compile(r"(?:^|(?<=\s))[-–](?=\w)")),
    ("doubled word", re.compile(r"\b([a-z]+)\s+\1\b", re.I)),
    ("dangling one", re.compile(r"\bone\s+(?:the|a|an|and)\b", re.I)),
    ("article before one", re.compile(r"\ban?\s+ones?\b(?!-)", re.I)),
)


@cache
def _colour_word_re() -> re.Pattern[str]:
    # lexicon colour words, and the adjectives "colored"/"coloured", which the rules read as a
    # non-hue colour word of their own ("a colored pencil")
    words = [
        *load_lexicon().words(("basic", "extended", "nonhue")),
        *(w for w in COLORED_WORDS if w.endswith("ed")),
    ]
    alt = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![^\W\d_])(?:{alt})(?![^\W\d_])", re.I)


def _colour_word_count(text: str, p: ColorPhrase | None = None) -> int:
    """Lexicon colour words in ``text`` (or, with ``p``, in the phrase's terms and modifiers)."""
    rx = _colour_word_re()
    if p is None:
        # every lexicon word is one run of letters, and the pattern matches whole runs only:
        # counting runs that are colour words is the same count, without the long alternation
        words = _colour_word_set()
        return sum(1 for w in _LETTER_RUN.findall(text) if w.lower() in words)
    spans = [c.span for c in p.colours] + [s for c in p.colours for s in c.modifier_spans]
    n = sum(len(rx.findall(text[s:e])) for s, e in sorted(set(spans)))
    # the "colored" of "a black colored seat" belongs to the phrase too
    a, b = p.span
    return n + len(_COLORED_RE.findall(text[a:b]))


_LETTER_RUN = re.compile(r"[^\W\d_]+")


@cache
def _colour_word_set() -> frozenset[str]:
    words = [
        *load_lexicon().words(("basic", "extended", "nonhue")),
        *(w for w in COLORED_WORDS if w.endswith("ed")),
    ]
    if not all(_LETTER_RUN.fullmatch(w) for w in words):  # the count above relies on it
        raise ValueError("colour lexicon: a basic/extended/nonhue name is not one run of letters")
    return frozenset(w.lower() for w in words)


_COLORED_RE = re.compile(r"(?<![^\W\d_])colou?red(?![^\W\d_])", re.I)


# edit-site checks: what the words next to a removal say about it (see _edit_problems)
_EDIT_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")
_CONJ = frozenset(["and", "or", "but", "nor", "&", "n'"])
_FUNCTION = frozenset(["a", "an", "the", ",", "/", *_CONJ])
_COPULA_START = frozenset(
    ["is", "are", "was", "were", "be", "been", "being", "that", "which", "who", "has", "have"]
)
_PP_START = frozenset(
    ["in", "with", "of", "on", "at", "from", "by", "for", "to", "into", "onto", "under", "over"]
)
# words that may follow a removed prepositional phrase ("a tower [with gold and blue] stands")
_FOLLOWS_PP = frozenset([
    "near", "next", "behind", "beside", "along", "across", "around", "inside", "outside",
    "while", "as", "where", "when",
])  # fmt: skip
_BARE_SUBJECTS = frozenset([
    "one", "ones", "it", "they", "both", "other", "others", "each", "some", "two", "three",
    "four", "five", "six", "rest",
])  # fmt: skip
_COLOUR_NOUNS = frozenset(COLORED_WORDS | TINT_WORDS)


@cache
def _edit_vocab() -> tuple[frozenset[str], frozenset[str]]:
    """(colour words incl. "colored", words that modify a colour: lexicon modifiers and degree
    words)."""
    lex = load_lexicon()
    colours = frozenset(lex.words(("basic", "extended", "nonhue"))) | frozenset(
        w for w in COLORED_WORDS if w.endswith("ed")
    )
    return colours, frozenset(lex.modifiers) | DEGREE_WORDS


def _word_diff(original: str, text: str) -> tuple[list[str], list[tuple[str, int, int, int]]]:
    """Lower-cased words of ``original`` and the removals that make ``text`` of them
    (:func:`_removals`)."""
    a = [w.lower() for w in _EDIT_TOKEN.findall(original)]
    b = [w.lower() for w in _EDIT_TOKEN.findall(text)]
    return a, _removals(a, b)


def _edit_problems(a: list[str], rem: list[tuple[str, int, int, int]]) -> list[str]:
    """Problems at the places where ``text`` deletes words of ``original`` (a word diff):

    * a conjunction that lost its conjunct: a removal of attributive words (colours, their
      modifiers, articles, prepositions, joiners) ending in a colour word, right before a kept
      and/or ("the windows [white] and open", "a room [with burgundy] and floral furniture");
    * a modifier left behind: a degree word or lexicon modifier kept right before a removal
      that starts with a colour word ("an all [white] kitchen", "a dark [colored] poodle");
    * a colour noun left without its colour: a kept color/shade/tint/tone/hue right after a
      removal ending in a colour word ("in [red and blue] shade of color", "a [green] tint");
    * a preposition removed before its object: a removal of attributive words that starts with
      a preposition and is followed by a kept word that is not a preposition, conjunction,
      verb form or clause word ("a refrigerator [in a brown colored] kitchen");
    * an orphan word between two removals: one kept article, joiner or comma ("a blurry
      [black] an [white] image");
    * a subject left without its predicate: a bare pronoun or number kept right before a
      removal that starts with a copula or relative pronoun ("one [is black]");
    * a subject removed before its verb: a colour used as a noun, removed before a kept
      copula after a clause start ("only [red] is in color").
    """
    colours, modifiers = _edit_vocab()
    attributive = colours | modifiers | _FUNCTION | {"with", "in", "of", "-"}
    out: list[str] = []
    removed: list[tuple[int, int]] = []

    def where(i1: int, i2: int) -> str:
        return " ".join(a[max(0, i1 - 2) : i2 + 2])

    for tag, i1, i2, _j in rem:
        gone = a[i1:i2]
        nxt = a[i2] if i2 < len(a) else ""
        p = i1 - 1
        while p > 0 and a[p] in ("-", "\u2013"):
            p -= 1  # "an all-[white] bathroom": the word before the hyphen
        prv = a[p] if p >= 0 else ""
        if tag == "delete":
            removed.append((i1, i2))
            if gone[-1] in colours and nxt in _CONJ and all(w in attributive for w in gone):
                out.append(f"conjunction lost its conjunct ({where(i1, i2)!r})")
            if gone[-1] in colours and (
                nxt in _COLOUR_NOUNS
                or nxt in ("shade", "shades")
                and a[i2 + 1 : i2 + 2] == ["of"]  # "a red shade" may be a lamp's
            ):
                out.append(f"colour noun left without its colour ({where(i1, i2)!r})")
            if (
                gone[0] in _PP_START
                and gone[-1] in colours | _COLOUR_NOUNS
                and all(w in attributive | _COLOUR_NOUNS for w in gone)
                and nxt.isalpha()
                and nxt not in _PP_START | _CONJ | _COPULA_START | _FOLLOWS_PP
                and not nxt.endswith(("ing", "ed"))
            ):
                out.append(f"preposition removed before its object ({where(i1, i2)!r})")
            if (
                nxt in ("is", "are", "was", "were")
                and gone[-1] in colours
                and all(w in colours or w in modifiers or w in _CONJ or w == "," for w in gone)
                and prv not in ("a", "an", "the")
                and (not prv.isalpha() or prv in modifiers or prv in ("only", "just", "and"))
            ):
                out.append(f"subject removed before its verb ({where(i1, i2)!r})")
            if gone[0] in _COPULA_START and prv in _BARE_SUBJECTS:
                out.append(f"subject left without its predicate ({where(i1, i2)!r})")
        particle = (
            prv in PARTICLE_MODIFIERS and p >= 1 and a[p - 1].endswith(("ing", "ed", "s"))
        )  # "letting off [white] smoke": the verb's particle, not the colour's modifier
        if gone[0] in colours and prv in modifiers and not particle:
            out.append(f"modifier left behind ({where(i1, i2)!r})")
    for (_, x2), (y1, y2) in zip(removed, removed[1:]):
        if y1 - x2 == 1 and a[x2] in _FUNCTION:
            out.append(f"orphan word between removals ({where(x2, y2)!r})")
    return out


def _removals(a: list[str], b: list[str]) -> list[tuple[str, int, int, int]]:
    """The runs ``a[i1:i2]`` of word list ``a`` that ``b`` deletes ("delete") or replaces by one
    new word ("replace": "clothes"), the only edits a rewrite makes, with ``j``, the index in
    ``b`` where the edit sits. A run ends where the next three words of ``b`` resume in ``a``
    (earliest such place; fewer at the end of ``b``), so a repeated article does not split a
    run; difflib aligns what is not such an edit."""
    out: list[tuple[str, int, int, int]] = []
    i = j = 0
    na, nb = len(a), len(b)

    def resume(i: int, j: int) -> int:
        want = b[j : j + 3]
        w = len(want)
        k = i
        while k <= na - w:
            k = a.index(want[0], k) if want[0] in a[k:] else -1
            if k < 0:
                return -1
            if a[k : k + w] == want:
                return k
            k += 1
        return -1

    while i < na:
        if j < nb and a[i] == b[j]:
            i += 1
            j += 1
            continue
        if j >= nb:
            out.append(("delete", i, na, j))
            return out
        k = resume(i, j)
        if k >= 0:
            out.append(("delete", i, k, j))
            i = k
            continue
        # b[j] is a new word (a replacement): the replaced run ends where b[j + 1:] resumes
        k = resume(i, j + 1) if j + 1 < nb else na
        if k <= i:
            break
        out.append(("replace", i, k, j))
        i, j = k, j + 1
    else:
        if j == nb:
            return out
    return [
        (tag, i1, i2, j1)
        for tag, i1, i2, j1, _j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        if tag in ("delete", "replace")
    ]


def _quote_spacing(text: str) -> int:
    """Double quotes with a space on their inner side (an opening quote is one preceded by an
    even number of quotes): '" screen of death"'."""
    n = 0
    for m in re.finditer('"', text):
        opening = text.count('"', 0, m.start()) % 2 == 0
        if (
            opening
            and text[m.end() : m.end() + 1] == " "
            or not opening
            and text[m.start() - 1 : m.start()] == " "
        ):
            n += 1
    return n


def validate(
    original: str, text: str, allowed_colour_words: int = 0, exact: bool = False
) -> list[str]:
    """Problems of a generated text ``text`` made from caption ``original`` (empty = valid):
    a dangling article, preposition, conjunction or copula, doubled or leading punctuation, a
    wrong a/an, an orphan hyphen, a space inside quotes -- each only when the text has more of
    it than the caption --, a word next to a removal that the removal left broken
    (:func:`_edit_problems`), a lower-case word in an all-capitals caption, no word left, or
    more lexicon colour words than ``allowed_colour_words`` (the caption's words read in
    another sense, plus at partial the kept phrases' words; ``exact``: not fewer either)."""
    out = []
    if any(c.isalpha() for c in original) and not any(c.isalpha() for c in text):
        out.append("no word left")
    if text != original:
        a, rem = _word_diff(original, text)
        for name, rx in _CHECKS:
            n_new = len(rx.findall(text))
            if n_new and n_new > len(rx.findall(original)):
                m = rx.search(text)
                where = text[max(0, m.start() - 12) : m.end() + 12] if m else ""
                out.append(f"{name} ({where!r})")
        out += _edit_problems(a, rem)
        if _quote_spacing(text) > _quote_spacing(original):
            out.append("space inside quotes")
        if _is_caps(original) and not _is_caps(text) and any(c.isalpha() for c in text):
            out.append("case pattern changed (lower-case word in an all-capitals caption)")
    n = _colour_word_count(text)
    if n > allowed_colour_words or (exact and n < allowed_colour_words):
        out.append(f"{n} colour words left, {allowed_colour_words} expected")
    return out
