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


# --------------------------------------------------------------------------------------------
# the independent val2017 gold set (tests/fixtures/gold_val2017/, see its README.md)

VAL2017_GOLD = Path(__file__).parent / "fixtures" / "gold_val2017" / "gold.tsv"
VAL2017_COLUMNS = (
    "ann_id",
    "image_id",
    "pair_id",
    "caption",
    "pairs",
    "nonhue",
    "sparse",
    "partial_kept",
    "partial",
)
ALT_SEP = " || "


def normalise_ws(text: str) -> str:
    """The only normalisation applied before comparing texts: runs of whitespace become one
    space and the ends are stripped (the gold keeps captions' double spaces verbatim)."""
    return " ".join(text.split())


def read_val2017_gold(path: Path = VAL2017_GOLD) -> list[dict]:
    """Rows of gold.tsv as dicts: the columns, plus ``gold_pairs`` (a list of Pair in caption
    order, duplicates kept), ``sparse_alts`` / ``partial_alts`` (accepted texts, '=' resolved to
    the caption; None where not judged). Reads whatever rows the file holds; a malformed row
    raises ValueError naming its line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = None
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            missing = set(VAL2017_COLUMNS) - set(header)
            if missing:
                raise ValueError(f"{path}:{n}: header lacks columns {sorted(missing)}")
            continue
        if len(cells) != len(header):
            raise ValueError(f"{path}:{n}: {len(cells)} cells, header has {len(header)}")
        row = dict(zip(header, cells))
        pairs: list[Pair] = []
        if row["pairs"].strip() != "-":
            for item in row["pairs"].split("; "):
                colours, sep, obj = item.strip().partition(">")
                if not sep or not colours or not obj:
                    raise ValueError(f"{path}:{n}: malformed pair {item!r}")
                pairs.append((tuple(colours.split(",")), obj.strip()))
        row["gold_pairs"] = pairs

        def alts(cell: str, caption: str = row["caption"]) -> list[str] | None:
            if cell.strip() in ("-", ""):
                return None
            return [caption if a.strip() == "=" else a for a in cell.split(ALT_SEP)]

        row["sparse_alts"] = alts(row["sparse"])
        row["partial_alts"] = alts(row["partial"])
        row["line"] = n
        rows.append(row)
    if header is None:
        raise ValueError(f"{path}: no header row")
    return rows


def predicted_pair_list(phrases) -> list[Pair]:
    """Like :func:`predicted_pairs` but a list (two "white>cows" phrases count twice)."""
    return [
        (p.canonical, p.object.head.lower() if p.object is not None else "?")
        for p in phrases
        if not p.nonhue
    ]


def score_val2017(extractor, rows: list[dict] | None = None) -> dict:
    """Precision/recall of pairs and correctness of sparse/partial texts over the gold rows."""
    from collections import Counter

    from lcad_bench.text.levels import controlled_levels

    if rows is None:
        rows = read_val2017_gold()

    tp = fp = fn = 0
    sparse_ok = sparse_n = partial_ok = partial_n = 0
    misses: list[str] = []
    analyses = extractor.analyse_many([r["caption"] for r in rows])
    for r, a in zip(rows, analyses):
        got = Counter(predicted_pair_list(a.phrases))
        want = Counter(r["gold_pairs"])
        t = sum((got & want).values())
        tp, fp, fn = tp + t, fp + sum(got.values()) - t, fn + sum(want.values()) - t
        if got != want:
            misses.append(
                f"line {r['line']} pairs: {r['caption']!r} gold {dict(want)} got {dict(got)}"
            )
        d = controlled_levels(a, pair_id=r["pair_id"], base_seed=0)
        for level, alts, text in (
            ("sparse", r["sparse_alts"], d.sparse),
            ("partial", r["partial_alts"], d.partial),
        ):
            if alts is None:
                continue
            ok = text is not None and normalise_ws(text) in {normalise_ws(x) for x in alts}
            if level == "sparse":
                sparse_n, sparse_ok = sparse_n + 1, sparse_ok + ok
            else:
                partial_n, partial_ok = partial_n + 1, partial_ok + ok
            if not ok:
                misses.append(f"line {r['line']} {level}: got {text!r} gold {alts}")
    return {
        "rows": len(rows),
        "gold_pairs": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "pair_precision": tp / (tp + fp) if tp + fp else 0.0,
        "pair_recall": tp / (tp + fn) if tp + fn else 0.0,
        "sparse_judged": sparse_n,
        "sparse_correct": sparse_ok,
        "sparse_accuracy": sparse_ok / sparse_n if sparse_n else 0.0,
        "partial_judged": partial_n,
        "partial_correct": partial_ok,
        "partial_accuracy": partial_ok / partial_n if partial_n else 0.0,
        "misses": misses,
    }
