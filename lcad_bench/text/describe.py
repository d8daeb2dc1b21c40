"""Any-level description of captions: the library behind ``lcad-bench describe``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lcad_bench.errors import InputFormatError, MissingInputError
from lcad_bench.fileio import surrogate_problem, utf8_problem
from lcad_bench.text.levels import Descriptions, NaturalLevel, controlled_levels, natural_level
from lcad_bench.text.records import Analysis


@dataclass(frozen=True, slots=True)
class Caption:
    """One caption to describe, with a stable id (line number, COCO annotation id, ...)."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Described:
    """A caption with its analysis, natural level and controlled descriptions."""

    caption: Caption
    analysis: Analysis
    natural: NaturalLevel
    levels: Descriptions

    def to_dict(self) -> dict[str, Any]:
        """JSON record (one line of ``describe --json`` output)."""
        a = self.analysis
        return {
            "id": self.caption.id,
            "text": self.caption.text,
            "natural_level": self.natural.level,
            "level_basis": self.natural.basis,
            "nonhue_only": self.natural.nonhue_only,
            "bw_photo_mention": a.bw_photo_mention,
            "colour_phrases": [p.to_dict() for p in a.phrases],
            "object_mentions": [
                {"text": m.text, "lemma": m.lemma, "span": list(m.span), "has_colour": m.has_colour}
                for m in a.mentions
            ],
            "descriptions": self.levels.as_dict(),
            "partial_kept_phrase_ids": None
            if self.levels.kept_phrase_ids is None
            else list(self.levels.kept_phrase_ids),
            "log": list(a.log),
        }


def describe_analyses(
    captions: Sequence[Caption], analyses: Sequence[Analysis], base_seed: int = 0
) -> list[Described]:
    """Levels for already analysed captions (pair id = caption id, for the partial seed)."""
    return [
        Described(c, a, natural_level(a), controlled_levels(a, pair_id=c.id, base_seed=base_seed))
        for c, a in zip(captions, analyses)
    ]


def read_captions(path: str | Path) -> list[Caption]:
    """Captions from a text file (one per line; blank lines and ``#`` comments skipped) or a
    COCO captions JSON (``{"annotations": [{"id", "image_id", "caption"}, ...]}``).

    Errors name the file and the offending line or annotation."""
    p = Path(path)
    if not p.is_file():
        raise MissingInputError(
            f"{p}: no such file. Pass a text file with one caption per line or a COCO captions JSON."
        )
    data = p.read_bytes()
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFormatError(
            f"{p}: not UTF-8 text at {utf8_problem(data, exc)}; re-save the file as UTF-8."
        ) from exc
    stripped = raw.lstrip("\ufeff").lstrip()
    if p.suffix.lower() == ".json" or stripped.startswith("{"):
        return _coco_captions(p, stripped)
    out = []
    for n, line in enumerate(raw.lstrip("\ufeff").splitlines(), start=1):
        t = line.strip()
        if t and not t.startswith("#"):
            out.append(Caption(f"line{n}", t))
    return out


def _coco_captions(p: Path, text: str) -> list[Caption]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFormatError(
            f"{p}: malformed JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "expected a COCO captions file such as captions_val2017.json."
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise InputFormatError(
            f"{p}: no 'annotations' list; a COCO captions file has "
            '{"annotations": [{"id": ..., "image_id": ..., "caption": "..."}]}.'
        )
    out = []
    for k, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or not isinstance(ann.get("caption"), str):
            raise InputFormatError(
                f"{p}: annotation #{k} has no string 'caption' field: {str(ann)[:80]!r}"
            )
        cid = ann.get("id", k)
        img = ann.get("image_id")
        if bad := surrogate_problem(ann["caption"]):
            raise InputFormatError(
                f"{p}: annotation #{k} (id {cid}) has a caption with a {bad}; fix that caption"
            )
        out.append(Caption(f"{img}:{cid}" if img is not None else str(cid), ann["caption"]))
    return out
