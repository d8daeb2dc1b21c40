"""The colour lexicon: one table (``resources/colour_lexicon.tsv``), one source of truth.

Every colour-related word the project knows lives in that TSV with its kind:

* ``basic``     -- the 11 Berlin-Kay terms (and spelling / ``-ish`` variants), hue-mappable;
* ``extended``  -- names seen in captions (silver, gold, navy, ...), each mapped to a basic
  ``category`` and to the CWHR classes of docs/protocol.md#colour-word-hit-rate;
* ``modifier``  -- words that qualify a colour (light, dark, pale, ...);
* ``hue_compound`` -- nouns that qualify a colour only directly before it (sky blue, navy blue);
* ``nonhue``    -- colour-bearing words that name no hue (colorful, striped, plaid, ...);
* ``stop``      -- word sequences whose colour word is not a colour (gold medal, white wine);
  ``keep`` in their ``rules`` column keeps the word in sparse text ("wine glasses", "ice cream",
  "orange slices": the word names a drink, food or fruit), otherwise sparse drops it ("white
  wine" -> "wine", "gold medal" -> "medal").

The ``rules`` column restricts the extraction rules (R1..R6, HC = inside a hue compound) under
which a word with a common-noun sense counts as a colour; ``*`` allows all of them. ``S`` marks a
word with another sense (noun or verb: "an orange", "the navy", "he checked") that it has when it
heads its own phrase; such a use is neither a colour phrase nor removed from sparse text.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

LEXICON_VERSION = "1"
ALL_RULES = frozenset({"R1", "R2", "R3", "R4", "R5", "R6", "HC"})
KINDS = ("basic", "extended", "modifier", "hue_compound", "nonhue", "stop")
BASIC_TERMS = (
    "black", "white", "red", "green", "yellow", "blue", "brown", "orange", "pink", "purple", "gray",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One row of the colour lexicon."""

    name: str
    canonical: str
    kind: str
    category: str = ""
    cwhr_classes: tuple[str, ...] = ()
    srgb_hex: str = ""
    lab: tuple[float, float, float] | None = None
    rules: frozenset[str] = ALL_RULES
    other_sense: bool = False  # "S" in rules: a noun/verb sense when it heads its own phrase
    keep: bool = False  # stop rows: "keep" in rules -- its colour word is no colour word there
    source: str = ""
    note: str = ""

    @property
    def is_hue(self) -> bool:
        """True for basic and extended colour names (hue-mappable)."""
        return self.kind in ("basic", "extended")

    @property
    def implied_modifier(self) -> str | None:
        """``ish`` for -ish/-ey forms ("reddish" = red + ish, "orangey" = orange + ish), else
        None. A form counts only when it is longer than its canonical name: "grey" is a
        spelling of gray, not gray + ish (so "a grey blue car" reads like "a gray blue car")."""
        if (
            self.is_hue
            and len(self.name) > len(self.canonical)
            and self.name.endswith(("ish", "ey"))
        ):
            return "ish"
        return None

    @property
    def srgb(self) -> tuple[int, int, int] | None:
        """Reference sRGB as 0..255 integers."""
        if not self.srgb_hex:
            return None
        h = self.srgb_hex.lstrip("#")
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


class Lexicon:
    """Lookup tables built once from the TSV."""

    def __init__(self, entries: list[LexiconEntry]) -> None:
        self.entries = entries
        self.colours: dict[str, LexiconEntry] = {}
        self.modifiers: dict[str, LexiconEntry] = {}
        self.hue_compounds: dict[str, LexiconEntry] = {}
        self.nonhue: dict[str, LexiconEntry] = {}
        self.stops: dict[str, LexiconEntry] = {}
        for e in entries:
            table = {
                "basic": self.colours,
                "extended": self.colours,
                "modifier": self.modifiers,
                "hue_compound": self.hue_compounds,
                "nonhue": self.nonhue,
                "stop": self.stops,
            }[e.kind]
            if e.name in table:
                raise ValueError(f"colour lexicon: duplicate {e.kind} entry {e.name!r}")
            table[e.name] = e
        # stop phrases indexed by each word they contain, for a cheap check per colour token
        # Stop phrases indexed by each (lower-cased) word they contain. A phrase written with
        # capitals ("White House") is a name and matches case-sensitively; others ignore case.
        self.stops_by_word: dict[str, list[tuple[tuple[str, ...], bool, str]]] = {}
        for phrase in self.stops:
            words = tuple(phrase.replace("-", " - ").split())
            case_sensitive = phrase != phrase.lower()
            for w in {x.lower() for x in words}:
                self.stops_by_word.setdefault(w, []).append((words, case_sensitive, phrase))
        self.colour_bearing = frozenset(self.colours) | frozenset(self.nonhue)

    def hue(self, word: str) -> LexiconEntry | None:
        """The basic/extended entry of a lower-cased word, or None."""
        return self.colours.get(word)

    def lookup(self, word: str) -> LexiconEntry | None:
        """Any colour-bearing entry (hue or non-hue) of a lower-cased word."""
        return self.colours.get(word) or self.nonhue.get(word)

    def category(self, word: str) -> str | None:
        """Basic category of a hue word ("navy" -> "blue")."""
        e = self.colours.get(word)
        return e.category if e else None

    def words(self, kinds: tuple[str, ...] = ("basic", "extended", "nonhue")) -> list[str]:
        """All single words of the given kinds, longest first (for regexes)."""
        out = [e.name for e in self.entries if e.kind in kinds and " " not in e.name]
        return sorted(set(out), key=lambda w: (-len(w), w))


def _parse_row(row: dict[str, str]) -> LexiconEntry:
    lab = None
    if row.get("lab_l"):
        lab = (float(row["lab_l"]), float(row["lab_a"]), float(row["lab_b"]))
    tokens = set((row.get("rules") or "*").split()) or {"*"}
    other_sense = "S" in tokens
    keep = "keep" in tokens
    tokens.discard("S")
    tokens.discard("keep")
    if keep and row["kind"] != "stop":
        raise ValueError(f"colour lexicon: 'keep' is for stop rows only ({row['name']!r})")
    rules = ALL_RULES if tokens <= {"*"} else frozenset(tokens)
    unknown = rules - ALL_RULES
    if unknown:
        raise ValueError(f"colour lexicon: unknown rule(s) {sorted(unknown)} for {row['name']!r}")
    if row["kind"] not in KINDS:
        raise ValueError(f"colour lexicon: unknown kind {row['kind']!r} for {row['name']!r}")
    return LexiconEntry(
        name=row["name"],
        canonical=row["canonical"],
        kind=row["kind"],
        category=row.get("category") or "",
        cwhr_classes=tuple(c for c in (row.get("cwhr_classes") or "").split("|") if c),
        srgb_hex=row.get("srgb_hex") or "",
        lab=lab,
        rules=rules,
        other_sense=other_sense,
        keep=keep,
        source=row.get("source") or "",
        note=row.get("note") or "",
    )


@cache
def load_lexicon() -> Lexicon:
    """The packaged lexicon (parsed once per process)."""
    text = (files("lcad_bench") / "resources" / "colour_lexicon.tsv").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    return Lexicon([_parse_row(r) for r in reader])
