"""Reader for tests/fixtures/colour_gold.tsv (shared by tests and benchmarks)."""

from __future__ import annotations

from pathlib import Path

GOLD_FILE = Path(__file__).parent / "fixtures" / "colour_gold.tsv"

Pair = tuple[tuple[str, ...], str]


def read_gold(path: Path = GOLD_FILE) -> list[tuple[str, str, set[Pair]]]:
    """(section, caption, gold pairs) for every caption of the file."""
    rows = []
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if not line.strip() or line.startswith("#"):
            continue
        caption, gold = line.split("\t")
        pairs: set[Pair] = set()
        if gold.strip() != "-":
            for item in gold.split(";"):
                colours, obj = item.strip().split(">")
                pairs.add((tuple(colours.split(",")), obj.strip()))
        rows.append((section, caption, pairs))
    return rows


def predicted_pairs(phrases) -> set[Pair]:
    """(canonical colours, object head lower-cased or '?') for extracted phrases."""
    return {(p.canonical, p.object.head.lower() if p.object is not None else "?") for p in phrases}
