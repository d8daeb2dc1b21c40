"""Object nouns: the gazetteer of scene nouns, the noun -> COCO category table, and the cheap
object-mention finder (docs/protocol.md#colour-phrase-extraction).

The gazetteer is the union of ``resources/coco_synonyms.tsv`` (COCO categories and their
synonyms), the ``object_nouns``, ``person_nouns`` and ``garment_nouns`` lists of
``resources/extraction_words.tsv``. The rule engine uses it where the small spaCy model
mis-tags an object noun ("a white oven/ADJ", "a green fire hydrant/ADJ", "white bedding/VERB");
:func:`find_mentions` uses it, and nothing else, to find a caption's object mentions, so that
mentions cost no parse and are identical whether or not a caption is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

from lcad_bench.text.records import ColorPhrase, ObjectMention, Span
from lcad_bench.text.wordlists import (
    GARMENT_NOUNS,
    IRREGULAR_PLURALS,
    MENTION_STOP,
    OBJECT_NOUNS,
    PERSON_NOUNS,
    VERB_LIKE_NOUNS,
)

SYNONYMS_FILE = "coco_synonyms.tsv"
_WORD = re.compile(r"[^\W\d_]+")
_PRONOUNS = frozenset(["he", "she", "it", "they", "that", "which", "who", "this", "these", "those"])


@cache
def synonym_table() -> dict[str, str]:
    """noun (lower-cased, singular or listed plural) -> COCO category name."""
    text = (files("lcad_bench") / "resources" / SYNONYMS_FILE).read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cat, nouns = line.split("\t")
        for n in [cat, *nouns.split(",")]:
            n = n.strip().lower()
            if n and n not in table:
                table[n] = cat
    return table


def singular(word: str) -> str:
    """A naive singular of a lower-cased noun (irregular plurals from the word list)."""
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def category_of_object(text: str, lemma: str, head: str | None = None) -> str | None:
    """COCO category of an object: its full text (multi-word nouns first), last two words, lemma,
    head, then a naive singular."""
    table = synonym_table()
    t = text.lower().strip()
    words = t.split()
    for cand in (t, " ".join(words[-2:]), lemma.lower(), (head or "").lower()):
        if cand and cand in table:
            return table[cand]
    h = (head or lemma).lower()
    for sing in (h[:-1] if h.endswith("s") else None, h[:-2] if h.endswith("es") else None):
        if sing and sing in table:
            return table[sing]
    return None


@dataclass(frozen=True)
class Gazetteer:
    """Scene nouns: single words (singular) and multi-word nouns (tuples of words)."""

    singles: frozenset[str]
    multi: dict[str, tuple[tuple[str, ...], ...]]  # first word -> word tuples, longest first
    _cache: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def lemma(self, word: str) -> str | None:
        """The singular of ``word`` (lower-cased) when it is a gazetteer noun, else None."""
        try:
            return self._cache[word]
        except KeyError:
            out = self._cache[word] = self._lemma(word)
            return out

    def _lemma(self, word: str) -> str | None:
        s = singular(word)
        if s != word and s in self.singles:
            return s
        if word.endswith("es") and word[:-2] in self.singles:  # "tomatoes", "buses"
            return word[:-2]
        if word in self.singles:
            return word
        return None

    def match_multi(self, words: Sequence[str], i: int) -> int | None:
        """End (exclusive) of the longest multi-word noun starting at ``words[i]``, or None.
        The last word may be plural ("teddy bears")."""
        for cand in self.multi.get(words[i], ()):
            n = len(cand)
            if i + n <= len(words) and tuple(words[i : i + n - 1]) == cand[:-1]:
                last = words[i + n - 1]
                if last == cand[-1] or singular(last) == cand[-1]:
                    return i + n
        return None


def _split(phrase: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(phrase.lower()))


@cache
def gazetteer() -> Gazetteer:
    """The packaged gazetteer (built once per process)."""
    singles: set[str] = set()
    multi: dict[str, set[tuple[str, ...]]] = {}
    nouns = set(OBJECT_NOUNS) | set(synonym_table()) | set(PERSON_NOUNS) | set(GARMENT_NOUNS)
    for n in nouns:
        words = _split(n)
        if not words:
            continue
        if len(words) == 1:
            singles.add(singular(words[0]) if words[0] not in IRREGULAR_PLURALS else words[0])
            singles.add(words[0])
        else:
            multi.setdefault(words[0], set()).add(words)
    return Gazetteer(
        frozenset(singles),
        {k: tuple(sorted(v, key=lambda w: (-len(w), w))) for k, v in multi.items()},
    )


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text)]


def find_mentions(
    text: str, colour_words: Iterable[str], phrases: Sequence[ColorPhrase] = ()
) -> list[ObjectMention]:
    """Object mentions of a caption without a parse: runs of gazetteer nouns separated only by
    spaces or hyphens ("a bathroom mirror", "a teddy bear") are one mention whose head is the
    last noun; colour words, ``mention_stop`` words and verb uses ("a man stands", "to park")
    are not mentions. A mention carries a phrase when a hue phrase's object head lies inside it;
    hue-phrase objects outside every mention are added."""
    gz = gazetteer()
    colours = colour_words if isinstance(colour_words, (set, frozenset)) else set(colour_words)
    toks = _tokens(text)
    words = [w for _, _, w in toks]
    n = len(toks)
    is_noun = [False] * n
    lemma: list[str | None] = [None] * n
    i = 0
    multi = gz.multi
    while i < n:
        end = gz.match_multi(words, i) if words[i] in multi else None
        if end is not None and all(w not in colours for w in words[i:end]):
            for k in range(i, end):
                is_noun[k] = True
                lemma[k] = None
            lemma[end - 1] = " ".join([*words[i : end - 1], singular(words[end - 1])])
            i = end
            continue
        w = words[i]
        lem = gz.lemma(w) if w not in colours else None
        if lem is not None and lem in VERB_LIKE_NOUNS and w != lem and i > 0:
            prev = words[i - 1]
            if prev in _PRONOUNS or (is_noun[i - 1] and _adjacent(text, toks, i - 1)):
                lem = None  # "a man stands", "the dog sits"
        if lem is not None and lem in VERB_LIKE_NOUNS and i > 0 and words[i - 1] == "to":
            lem = None  # "ready to surf"
        if lem is not None:
            is_noun[i], lemma[i] = True, lem
        i += 1
    coloured = [p.object.head_span for p in phrases if p.object is not None and not p.nonhue]
    out: list[ObjectMention] = []
    covered: list[Span] = []
    k = 0
    while k < n:
        if not is_noun[k]:
            k += 1
            continue
        j = k
        while j + 1 < n and is_noun[j + 1] and _adjacent(text, toks, j):
            j += 1
        head_lemma = lemma[j] or words[j]
        s, e = toks[k][0], toks[j][1]
        k = j + 1
        if words[j] in MENTION_STOP or head_lemma in MENTION_STOP:
            continue
        span = (s, e)
        covered.append(span)
        has = any(s <= a and b <= e for a, b in coloured)
        out.append(ObjectMention(text[s:e], head_lemma, span, has))
    for p in phrases:
        if p.object is None or p.nonhue:
            continue
        a, b = p.object.head_span
        if not any(s <= a and b <= e for s, e in covered):
            covered.append((a, b))
            out.append(ObjectMention(p.object.head, p.object.lemma, (a, b), True))
    return sorted(out, key=lambda m: m.span)


def _adjacent(text: str, toks: list[tuple[int, int, str]], i: int) -> bool:
    """Token i and i+1 are separated only by spaces or one hyphen."""
    gap = text[toks[i][1] : toks[i + 1][0]]
    return gap.strip() in ("", "-") and "\n" not in gap
