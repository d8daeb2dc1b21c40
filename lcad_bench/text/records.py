"""Typed records of colour-phrase extraction: colour terms, object references, phrases, object
mentions and the analysis of one caption. Light: no spaCy, so the split format can import it.
All spans are 0-based, end-exclusive character offsets into the caption
(docs/protocol.md#colour-phrase-extraction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ColourTerm:
    """One colour word of a phrase ("navy" in "navy blue" is a modifier, not a term)."""

    text: str
    canonical: str
    category: str | None  # basic category; None for non-hue words
    span: Span
    modifiers: tuple[str, ...] = ()
    modifier_spans: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """The object a colour phrase describes."""

    text: str  # the head with its compound words ("fire hydrant")
    lemma: str  # lemma of the head ("hydrant")
    head: str  # the head token's text
    span: Span  # of ``text``
    head_span: Span
    noun_span: Span  # the whole noun phrase, determiner to head ("a red fire hydrant")
    plural: bool = False


@dataclass(frozen=True, slots=True)
class ColorPhrase:
    """A colour-object phrase of a caption.

    ``removal`` are the character ranges a sparse rewrite deletes for this phrase and
    ``replacement`` the text put at the first of them (``"clothes"`` for garment colours).
    """

    phrase_id: int
    rule: str
    colours: tuple[ColourTerm, ...]
    object: ObjectRef | None
    nonhue: bool = False
    garment: bool = False
    span: Span = (0, 0)  # from the first colour/modifier to the end of the construction
    removal: tuple[Span, ...] = ()
    replacement: str = ""

    @property
    def terms(self) -> tuple[str, ...]:
        """Colour words as written, in order."""
        return tuple(c.text for c in self.colours)

    @property
    def canonical(self) -> tuple[str, ...]:
        """Normalised colour names ("grey" -> "gray")."""
        return tuple(c.canonical for c in self.colours)

    @property
    def categories(self) -> tuple[str, ...]:
        """Basic categories of the hue terms ("navy" -> "blue")."""
        return tuple(c.category for c in self.colours if c.category)

    @property
    def modifiers(self) -> tuple[str, ...]:
        """All modifiers of all terms, in order."""
        return tuple(m for c in self.colours for m in c.modifiers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (docs/protocol.md#colour-phrase-extraction)."""
        return {
            "phrase_id": self.phrase_id,
            "rule": self.rule,
            "nonhue": self.nonhue,
            "garment": self.garment,
            "modifiers": list(self.modifiers),
            "colours": [
                {
                    "text": c.text,
                    "canonical": c.canonical,
                    "category": c.category,
                    "span": list(c.span),
                    "modifiers": list(c.modifiers),
                    "modifier_spans": [list(s) for s in c.modifier_spans],
                }
                for c in self.colours
            ],
            "object": None
            if self.object is None
            else {
                "text": self.object.text,
                "lemma": self.object.lemma,
                "head": self.object.head,
                "span": list(self.object.span),
                "head_span": list(self.object.head_span),
                "noun_span": list(self.object.noun_span),
                "plural": self.object.plural,
            },
            "span": list(self.span),
            "removal": [list(s) for s in self.removal],
            "replacement": self.replacement,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColorPhrase:
        """Inverse of :meth:`to_dict`."""
        obj = d.get("object")
        return cls(
            phrase_id=int(d["phrase_id"]),
            rule=d["rule"],
            colours=tuple(
                ColourTerm(
                    text=c["text"],
                    canonical=c["canonical"],
                    category=c.get("category"),
                    span=tuple(c["span"]),  # type: ignore[arg-type]
                    modifiers=tuple(c.get("modifiers", ())),
                    modifier_spans=tuple(tuple(s) for s in c.get("modifier_spans", ())),  # type: ignore[misc]
                )
                for c in d["colours"]
            ),
            object=None
            if obj is None
            else ObjectRef(
                text=obj["text"],
                lemma=obj["lemma"],
                head=obj["head"],
                span=tuple(obj["span"]),  # type: ignore[arg-type]
                head_span=tuple(obj["head_span"]),  # type: ignore[arg-type]
                noun_span=tuple(obj["noun_span"]),  # type: ignore[arg-type]
                plural=bool(obj.get("plural", False)),
            ),
            nonhue=bool(d.get("nonhue", False)),
            garment=bool(d.get("garment", False)),
            span=tuple(d.get("span", (0, 0))),  # type: ignore[arg-type]
            removal=tuple(tuple(s) for s in d.get("removal", ())),  # type: ignore[misc]
            replacement=d.get("replacement", ""),
        )


@dataclass(frozen=True, slots=True)
class ObjectMention:
    """A noun-chunk head that names something in the scene."""

    text: str
    lemma: str
    span: Span
    has_colour: bool


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything extraction knows about one caption."""

    text: str
    phrases: tuple[ColorPhrase, ...]
    mentions: tuple[ObjectMention, ...] = ()
    strays: tuple[Span, ...] = ()  # colour words outside any phrase (removed at sparse)
    kept: tuple[Span, ...] = ()  # lexicon words read in another sense (stay at every level)
    bw_photo_mention: bool = False
    log: tuple[str, ...] = field(default=())

    @property
    def hue_phrases(self) -> tuple[ColorPhrase, ...]:
        """Phrases with at least one hue term (the protocol's P)."""
        return tuple(p for p in self.phrases if not p.nonhue)
