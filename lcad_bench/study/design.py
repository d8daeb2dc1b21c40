"""User-study design (docs/protocol.md#user-studies): criteria, the study configuration, the
seeded item draw stratified by level, the per-rater order and rater-id hashing.

Pairwise forced choice (2AFC) on ``correspondence`` ("Which result best matches the
description?", shown with the text and the gray input) or ``realism`` ("Which image looks most
natural?", no text); the left/right order of each item is randomised from the seed and logged
(``shown_methods``). Catch trials put the ground truth against the gray input.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from lcad_bench.errors import InputFormatError, MissingInputError, UsageError
from lcad_bench.protocol import LEVELS

STUDY_PROTOCOL_VERSION = "1.0"
CRITERIA = {
    "correspondence": "Which result best matches the description?",
    "realism": "Which image looks most natural?",
}
DESIGNS = ("2afc", "likert")
GT = "__gt__"
GRAY = "__gray__"
CATCH_FAIL_LIMIT = 0.20
Z95 = 1.959963984540054
RESPONSE_COLUMNS = [
    "study_id", "protocol_version", "rater_id", "item_id", "pair_id", "scheme", "level", "criterion",
    "design", "shown_methods", "choice", "score", "response_time_ms", "timestamp", "is_catch",
]  # fmt: skip


# ------------------------------------------------------------------------------------------
# raters and items


def hash_rater(raw_id: str, salt: str) -> str:
    """Salted sha256 of a rater id (the raw id is never stored)."""
    if not raw_id.strip():
        raise UsageError("empty rater id")
    return hashlib.sha256(f"{salt}\0{raw_id.strip()}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StudyConfig:
    """What a study shows. ``runs`` are run ids (with their folders in the board's runs.json)."""

    study_id: str
    runs: tuple[str, ...]
    criterion: str = "correspondence"
    design: str = "2afc"
    levels: tuple[str, ...] = LEVELS
    n_items: int = 20
    seed: int = 0
    catch_every: int = 0  # one catch trial after every N items (0: none)

    def __post_init__(self) -> None:
        if self.criterion not in CRITERIA:
            raise UsageError(f"criterion {self.criterion!r}: expected one of {sorted(CRITERIA)}")
        if self.design != "2afc":
            raise UsageError(
                "the study page runs 2afc studies; import Likert ratings with `lcad-bench study import-likert`"
            )
        if len(self.runs) < 2:
            raise UsageError("a pairwise study needs at least two runs")
        if self.n_items < 1:
            raise UsageError("n_items must be at least 1")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StudyConfig:
        d = json.loads(text)
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


@dataclass(frozen=True, slots=True)
class StudyItem:
    """One judgement to make: a pair at a level, two methods in display order."""

    item_id: str
    pair_id: str
    level: str
    description: str
    shown: tuple[str, str]
    is_catch: bool = False
    scheme: str = "controlled"


def draw_items(
    config: StudyConfig, available: Mapping[str, Mapping[tuple[str, str], str]]
) -> list[StudyItem]:
    """A seeded draw of items, stratified by level.

    ``available[run_id][(pair_id, level)] = description`` lists the samples each run has (no
    error). Only (pair, level) keys present in every run of the study are drawn, and each must
    have the same description in every run (else the runs are not on one split:
    ``InputFormatError``). Method pairs cycle through every combination; the left/right order
    is random and logged."""
    runs = list(config.runs)
    missing = [r for r in runs if r not in available]
    if missing:
        raise MissingInputError(
            f"no samples for run(s) {missing}; summarize run folders with samples.parquet"
        )
    common = set.intersection(*(set(available[r]) for r in runs))
    for key in sorted(common):  # the same pair at the same level must read the same everywhere
        first = available[runs[0]][key]
        other = next((r for r in runs if available[r][key] != first), None)
        if other is not None:
            raise InputFormatError(
                f"runs {runs[0]} and {other} describe pair {key[0]} at level {key[1]} differently "
                f"({first!r} vs {available[other][key]!r}): they were not evaluated on the same split; "
                "a study compares runs of one split"
            )
    keys_by_level = {lv: sorted(k for k in common if k[1] == lv) for lv in config.levels}
    keys_by_level = {lv: ks for lv, ks in keys_by_level.items() if ks}
    if not keys_by_level:
        raise MissingInputError(f"the runs {runs} share no sample at levels {list(config.levels)}")
    rng = random.Random(f"lcad-study|{config.study_id}|{config.seed}")
    for ks in keys_by_level.values():
        rng.shuffle(ks)
    levels = sorted(keys_by_level)
    chosen: list[tuple[str, str]] = []
    i = 0
    while len(chosen) < config.n_items and any(keys_by_level.values()):
        lv = levels[i % len(levels)]
        if keys_by_level[lv]:
            chosen.append(keys_by_level[lv].pop())
        i += 1
    combos = [(a, b) for k, a in enumerate(runs) for b in runs[k + 1 :]]
    items: list[StudyItem] = []
    for j, (pair_id, level) in enumerate(chosen):
        a, b = combos[j % len(combos)]
        shown = (a, b) if rng.random() < 0.5 else (b, a)
        desc = available[runs[0]][(pair_id, level)]
        items.append(
            StudyItem(
                f"{pair_id}|controlled|{level}|{shown[0]}|{shown[1]}", pair_id, level, desc, shown
            )
        )
        if config.catch_every and (j + 1) % config.catch_every == 0:
            cshown = (GT, GRAY) if rng.random() < 0.5 else (GRAY, GT)
            items.append(
                StudyItem(f"catch|{pair_id}|controlled|{level}", pair_id, level, desc, cshown, True)
            )
    return items


def rater_order(items: Sequence[StudyItem], rater_hash: str, seed: int) -> list[StudyItem]:
    """Each rater sees the items in their own seeded order."""
    out = list(items)
    random.Random(f"{seed}|{rater_hash}").shuffle(out)
    return out


# ------------------------------------------------------------------------------------------
# store


@dataclass
class Session:
    """A rater's progress through a study (used by the Streamlit page)."""

    config: StudyConfig
    rater_id: str
    items: list[StudyItem] = field(default_factory=list)

    def next_item(self, answered: set[str]) -> StudyItem | None:
        for it in self.items:
            if it.item_id not in answered:
                return it
        return None
