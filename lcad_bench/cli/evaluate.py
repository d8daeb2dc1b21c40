"""``lcad-bench evaluate``, ``show`` and ``merge``."""

from __future__ import annotations

import argparse
import sys

from lcad_bench.data import LEVELS

EXAMPLES = """examples:
  lcad-bench evaluate --model gray --split data/demo --out runs/gray
  lcad-bench evaluate --model text-tint --split data/ecs --levels complete sparse --limit 100 --out runs/tint
  lcad-bench evaluate --model lcad --model-arg checkpoint=weights/lcad --model-arg device=cuda --split data/ecs --shard 0/4 --out runs/lcad-0
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="run a model on a split and score it", description="Colorize a split with a model (outputs cached as PNG, resumable) and compute the metrics.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--model", required=True, help="registered name (lcad-bench evaluate --model gray), module:Class, or an entry point")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE", help="model option (repeatable); JSON scalars are converted")
    p.add_argument("--split", required=True, help="split folder built by lcad-bench build")
    p.add_argument("--out", default=None, help="run folder (default runs/<model>-<split>)")
    p.add_argument("--levels", nargs="+", choices=LEVELS, default=None, help="levels to run (default: all)")
    p.add_argument("--metrics", nargs="+", default=None, help="metrics to compute (default: every metric whose weights are present)")
    p.add_argument("--limit", type=int, default=None, help="first N pairs only")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0, help="base seed (per-pair seeds derive from it)")
    p.add_argument("--n-seeds", type=int, default=1)
    p.add_argument("--shard", default=None, help="i/n: run the i-th of n deterministic shards; combine with lcad-bench merge")
    p.add_argument("--strict", action="store_true", help="stop with exit code 5 at the first failed sample")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(func=run_evaluate)

    s = sub.add_parser("show", help="print a run's per-level table", description="Print the per-level metric table of a run folder.",
                       epilog="examples:\n  lcad-bench show runs/gray\n  lcad-bench show runs/gray --json\n", formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    s.add_argument("run", help="run folder (or its results.json)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_show)


def run_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lcad_bench.models import create_model, parse_model_args
    from lcad_bench.runner import evaluate, parse_shard

    model = create_model(args.model, parse_model_args(args.model_arg))
    out = args.out or str(Path("runs") / f"{model.name}-{Path(args.split).name}")
    res = evaluate(model, args.split, out, metrics=args.metrics, levels=args.levels, limit=args.limit,
                   batch_size=args.batch_size, base_seed=args.seed, n_seeds=args.n_seeds,
                   shard=parse_shard(args.shard), strict=args.strict, quiet=args.quiet)  # fmt: skip
    print(format_results(res))
    print(f"results: {Path(out) / 'results.json'}", file=sys.stderr)
    return 5 if res.counts.get("failed") else 0


def run_show(args: argparse.Namespace) -> int:
    from lcad_bench.results import load_results

    res = load_results(args.run)
    if args.json:
        print(res.model_dump_json(indent=2))
    else:
        print(format_results(res))
    return 0


def format_results(res) -> str:
    """Per-level table: rows = levels, columns = metrics (mean [95% CI])."""
    from lcad_bench.cli.table import render_table

    metrics = sorted({c.metric for c in res.aggregates})
    levels = [lv for lv in LEVELS if any(c.level == lv for c in res.aggregates)]
    cell = {(c.level, c.metric): c for c in res.aggregates}
    dist = {(d["level"], d["metric"]): d for d in res.distribution_metrics}
    dist_names = sorted({d["metric"] for d in res.distribution_metrics})
    rows = []
    for lv in levels:
        row = [lv, max((cell[(lv, m)].n_pairs for m in metrics if (lv, m) in cell), default=0)]
        for m in metrics:
            c = cell.get((lv, m))
            row.append("-" if c is None or c.mean is None else f"{c.mean:.4g} [{c.ci_low:.3g}, {c.ci_high:.3g}]")
        for m in dist_names:
            d = dist.get((lv, m))
            row.append("-" if d is None or d.get("value") is None else f"{d['value']:.4g}")
        rows.append(row)
    head = f"{res.model['name']} on {res.split['id']} ({res.split['n_pairs']} pairs)"
    extra = ""
    if res.skipped_metrics:
        extra += "\nskipped metrics: " + "; ".join(f"{k}: {v}" for k, v in res.skipped_metrics.items())
    if res.warnings:
        extra += "\nwarnings: " + "; ".join(res.warnings)
    return head + "\n" + render_table(["level", "n", *metrics, *dist_names], rows) + extra
