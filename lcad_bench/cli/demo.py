"""``lcad-bench demo``: the main job on embedded data (no network, no downloads).

1. describes the demo captions at every level (colour phrases, natural level, controlled texts);
2. builds the embedded demo split (real photos shipped by scikit-image, scikit-learn and
   matplotlib, hand-written captions, hand-drawn instance masks) and prints its per-level counts;
3. evaluates the gray, text-tint and oracle-palette baselines on it and prints their tables;
4. summarises the runs into leaderboard tables and prints the command that opens the board.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lcad_bench.protocol import LEVELS

EXAMPLES = """examples:
  lcad-bench demo
  lcad-bench demo --out demo-out --spacy-model en_core_web_sm
"""

DEMO_MODELS = ("gray", "text-tint", "oracle-palette")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "demo",
        help="run the main job on the embedded demo data",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out", default="demo-out", help="folder for the demo split and runs (default demo-out/)"
    )
    p.add_argument("--spacy-model", default=None, help="spaCy pipeline name or path")
    p.set_defaults(func=run)
    return p


def demo_captions() -> list[str]:
    """The captions of the embedded demo split."""
    from lcad_bench.builders.demo import demo_spec

    return [c for im in demo_spec()["images"] for c in im["captions"]]


def run(args: argparse.Namespace) -> int:
    from lcad_bench.builders.demo import build_demo
    from lcad_bench.cli.describe import _summary, format_described
    from lcad_bench.cli.table import render_table
    from lcad_bench.text.describe import Caption, describe_analyses
    from lcad_bench.text.extract import get_extractor

    out = Path(args.out)
    ex = get_extractor(args.spacy_model)
    caps = [Caption(f"demo{i}", t) for i, t in enumerate(demo_captions())]
    described = describe_analyses(caps, ex.analyse_many([c.text for c in caps]))
    print(
        f"== 1. Any-level descriptions (spaCy pipeline {ex.info['name']} {ex.info['version']}, spaCy {ex.info['spacy_version']})"
    )
    print(format_described(described))
    print(_summary(described))

    split_dir = out / "split"
    m = build_demo(split_dir, embed_images=True, overwrite=True, spacy_model=args.spacy_model)
    c = m.counts
    print(
        f"\n== 2. Demo split built: {split_dir} ({c['pairs']} pairs, {c['images']} images, content hash {m.content_hash[:16]})"
    )
    nat = c["natural_levels"]
    print(render_table(["natural level", "pairs"], [[lv, nat[lv]] for lv in LEVELS]
                       + [["controlled partial defined", c["controlled_partial_defined"]]]))  # fmt: skip

    from lcad_bench.cli.evaluate import format_results
    from lcad_bench.evaluation.runner import evaluate
    from lcad_bench.models import create_model

    print("\n== 3. Baselines on the demo split")
    for name in DEMO_MODELS:
        res = evaluate(create_model(name), split_dir, out / "runs" / name, quiet=True)
        print(format_results(res))

    from lcad_bench.leaderboard.summarize import summarize

    board = out / "board"
    s = summarize([out / "runs"], board)
    print(f"\n== 4. Leaderboard tables written to {board} ({len(s.runs)} runs)")
    print(board_overview(board))
    print(f"Open the board:  .venv/bin/lcad-bench leaderboard --board {board}")
    return 0


def board_overview(board: Path) -> str:
    """What the board opens on: its default view (headline columns at level complete, ranked by
    average rank within each comparison group; oracle runs labelled and not ranked)."""
    from lcad_bench.leaderboard.board import load_board
    from lcad_bench.leaderboard.tables import (
        best_line,
        comparison_groups,
        group_table,
        split_choices,
        split_rows,
    )

    b = load_board(board)
    choice = split_choices(b.frame)[0]
    repro, _ = split_rows(b.frame, choice)
    headline = [m for m, i in b.infos.items() if i.headline]
    lines = [
        f"Default view: split {choice.label}, headline columns at level complete, average rank within each group"
    ]
    for g in comparison_groups(repro):
        t = group_table(
            repro,
            b.pairs,
            b.infos,
            g.run_ids,
            metrics=headline,
            levels=["complete"],
            labels=b.labels,
        )
        unranked = [str(r) for r, o in zip(t.frame["run"], t.frame["oracle"]) if o]
        extra = f"; not ranked: {', '.join(unranked)} (oracle / upper bound)" if unranked else ""
        lines.append(f"  {g.title}: {best_line(t, b.infos)}{extra}")
    return "\n".join(lines)
