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

from lcad_bench.protocol import COVERAGE_THRESHOLD, LEVELS, choose_partial
from lcad_bench.text.records import Analysis, ColorPhrase, Span


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
    """The controlled descriptions of one caption."""

    complete: str
    partial: str | None
    sparse: str
    none: str = ""
    kept_phrase_ids: tuple[int, ...] | None = None  # hue phrases keeping colour at partial

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
    seed always give the same text.
    """
    text = analysis.text
    hue = list(analysis.hue_phrases)
    nonhue = [p for p in analysis.phrases if p.nonhue]
    pid = text if pair_id is None else pair_id
    chosen = choose_partial(len(hue), pid, base_seed)
    sparse = rewrite(text, [*analysis.phrases], analysis.strays)
    partial = None
    kept_ids = None
    if chosen is not None:
        kept_ids = tuple(hue[i].phrase_id for i in chosen)
        drop = [p for i, p in enumerate(hue) if i not in chosen] + nonhue
        partial = rewrite(text, drop, analysis.strays)
    return Descriptions(
        complete=text, partial=partial, sparse=sparse, none="", kept_phrase_ids=kept_ids
    )


# --------------------------------------------------------------------------------------------
# text surgery

_VOWEL_SOUND = re.compile(
    r"^(?:[aeio]|u(?!ni|s[eu]|ti|r[aeiou]|ku|ke)|hour|honest|heir|honou?r)", re.IGNORECASE
)
_CONSONANT_EXC = re.compile(r"^(?:one\b|once\b|eu|ewe|uni|use|usu|uti|ura|ure|uro)", re.IGNORECASE)
_ARTICLE_END = re.compile(r"(?:^|(?<=\W))([Aa]n?)(\s+)$")
_WORD_START = re.compile(r"^\s*([\w'][\w'-]*)")


def _article_for(word: str) -> str:
    if _CONSONANT_EXC.match(word):
        return "a"
    return "an" if _VOWEL_SOUND.match(word) else "a"


def _fix_article(left: str, right: str) -> str:
    """Repair a/an at the end of ``left`` for the word starting ``right``."""
    m = _ARTICLE_END.search(left)
    w = _WORD_START.match(right)
    if not m or not w:
        return left
    art = _article_for(w.group(1))
    old = m.group(1)
    new = art.capitalize() if old[0].isupper() else art
    return left[: m.start(1)] + new + left[m.end(1) :]


def _merge(spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for s, e, rep in sorted(spans):
        if out and s <= out[-1][1]:
            ps, pe, prep = out[-1]
            out[-1] = (ps, max(pe, e), prep or rep)
        else:
            out.append((s, e, rep))
    return out


def rewrite(text: str, phrases: Iterable[ColorPhrase], strays: Iterable[Span] = ()) -> str:
    """``text`` with the colour words of ``phrases`` (and the ``strays``) removed."""
    edits: list[tuple[int, int, str]] = []
    for p in phrases:
        for k, (s, e) in enumerate(p.removal):
            edits.append((s, e, p.replacement if k == 0 else ""))
    edits.extend((s, e, "") for s, e in strays)
    if not edits:
        return text
    out = text
    for s, e, rep in reversed(_merge(edits)):
        left, right = out[:s], out[e:]
        if rep:
            left = left if left.endswith((" ", "\t")) or not left else left + " "
            right = right if right.startswith((" ", ",", ".")) or not right else " " + right
            out = left + rep + right
        else:
            left = _fix_article(left, right)
            out = left + right
    out = _tidy(out)
    if text[:1].isupper() and out[:1].islower():
        out = out[0].upper() + out[1:]
    return out


def _tidy(text: str) -> str:
    t = re.sub(r"[ \t]{2,}", " ", text)
    t = re.sub(r"\s+([,.;:!?])", r"\1", t)
    t = re.sub(r",\s*,", ",", t)
    t = re.sub(r"(^|\s)-\s+(?=\w)", r"\1", t)  # an orphan hyphen left by "x-colored"
    t = re.sub(r"^[\s,;:]+", "", t)
    return t.strip()
