"""``lcad-bench evaluate``, ``show`` and ``merge``."""

from __future__ import annotations

import argparse
import sys

from lcad_bench.errors import ExitCode
from lcad_bench.protocol import LEVELS

EXAMPLES = """examples:
  lcad-bench evaluate --model gray --split data/demo --out runs/gray
  lcad-bench evaluate --model text-tint --split data/ecs --levels complete sparse --limit 100 --out runs/tint
  lcad-bench evaluate --model lcad --model-arg checkpoint=weights/lcad --model-arg device=cuda --split data/ecs --shard 0/4 --out runs/lcad-0
  accelerate launch --num_processes 8 -m lcad_bench evaluate --model lcad --model-arg checkpoint=weights/lcad --split data/ecs --out runs/lcad
  lcad-bench evaluate --predictions exchange/ecs --name my-method --model-info model.yaml --split data/ecs --out runs/my-method
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="run a model on a split and score it", description="Colorize a split with a model (outputs cached as PNG, resumable) and compute the metrics.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument(
        "--model",
        default=None,
        help="registered name (lcad-bench evaluate --model gray), module:Class, or an entry point",
    )
    p.add_argument(
        "--predictions",
        default=None,
        metavar="DIR",
        help="score the outputs an external method wrote into DIR, named as the manifest of "
        "`lcad-bench export-inputs` says (instead of --model)",
    )
    p.add_argument("--name", default=None, help="the external method's name (with --predictions)")
    p.add_argument(
        "--model-info",
        default=None,
        metavar="YAML",
        help="the external method's metadata and citation (with --predictions; fields in docs/evaluating.md)",
    )
    p.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model option (repeatable); JSON scalars are converted",
    )
    p.add_argument("--split", required=True, help="split folder built by lcad-bench build")
    p.add_argument("--out", default=None, help="run folder (default runs/<model>-<split>)")
    p.add_argument(
        "--levels", nargs="+", choices=LEVELS, default=None, help="levels to run (default: all)"
    )
    p.add_argument(
        "--metrics",
        nargs="+",
        default=None,
        help="metrics to compute (default: every metric whose weights are present)",
    )
    p.add_argument("--limit", type=int, default=None, help="first N pairs only")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0, help="base seed (per-pair seeds derive from it)")
    p.add_argument("--n-seeds", type=int, default=1)
    p.add_argument(
        "--shard",
        default=None,
        help="i/n: run the i-th of n deterministic shards; combine with lcad-bench merge",
    )
    p.add_argument(
        "--strict", action="store_true", help="stop with exit code 5 at the first failed sample"
    )
    p.add_argument(
        "--sample-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="record a sample as failed when the model takes longer than this (per sample of a batch)",
    )
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(func=run_evaluate)

    mg = sub.add_parser("merge", help="combine --shard runs into one run", description="Merge the run folders of `evaluate --shard i/n` runs: samples are concatenated, aggregates recomputed, FID recomputed from the gathered statistics.",
                        epilog="examples:\n  lcad-bench merge runs/lcad-0 runs/lcad-1 runs/lcad-2 runs/lcad-3 --out runs/lcad\n  lcad-bench merge runs/tint-* --out runs/tint\n", formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    mg.add_argument("shards", nargs="+", help="shard run folders")
    mg.add_argument("--out", required=True, help="merged run folder")
    mg.set_defaults(func=run_merge)

    s = sub.add_parser("show", help="print a run's per-level table", description="Print the per-level metric table of a run folder, "
                       "or export it: Markdown, a paper-ready LaTeX table with a BibTeX block for its split and the protocol, or tidy CSV.",
                       epilog="examples:\n  lcad-bench show runs/gray\n  lcad-bench show runs/gray --format latex > table.tex\n", formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    s.add_argument("run", help="run folder (or its results.json)")
    s.add_argument("--json", action="store_true", help="print results.json")
    s.add_argument("--format", choices=("text", "markdown", "latex", "csv"), default="text",
                   help="text (default): the terminal table; markdown / latex (+ BibTeX) / csv: exports")  # fmt: skip
    s.add_argument("--no-ci", action="store_true", help="exports without the ± 95%% interval")
    s.set_defaults(func=run_show)


def run_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lcad_bench.evaluation import distributed
    from lcad_bench.evaluation.plan import check_run_args, parse_shard
    from lcad_bench.evaluation.runner import evaluate

    # usage errors before any model loads
    check_run_args(args.levels, args.limit, args.n_seeds, args.batch_size)
    shard = parse_shard(args.shard)
    world = distributed.detect()  # None unless started by accelerate launch / torchrun
    try:
        model = _model(args)
        if world is not None:
            model.use_device(world.device)
        out = args.out or str(Path("runs") / f"{model.name}-{Path(args.split).name}")
        res = evaluate(model, args.split, out, metrics=args.metrics, levels=args.levels, limit=args.limit,
                       batch_size=args.batch_size, base_seed=args.seed, n_seeds=args.n_seeds,
                       shard=shard, strict=args.strict, quiet=args.quiet, sample_timeout=args.sample_timeout,
                       world=world)  # fmt: skip
    finally:
        if world is not None:
            world.close()
    if world is None or world.is_main:
        print(format_results(res))
        print(f"results: {Path(out) / 'results.json'}", file=sys.stderr)
    return int(ExitCode.SAMPLES_FAILED) if res.counts.get("failed") else 0


def _model(args: argparse.Namespace):
    """The --model plug-in, or the --predictions folder of an external method."""
    from lcad_bench.errors import UsageError
    from lcad_bench.models import create_model, parse_model_args

    if args.predictions is None:
        if args.model is None:
            raise UsageError(
                "give --model NAME (a plug-in) or --predictions DIR --name METHOD (an external method's outputs)"
            )
        if args.name or args.model_info:
            raise UsageError(
                "--name and --model-info describe an external method: use them with --predictions DIR"
            )
        return create_model(args.model, parse_model_args(args.model_arg))
    if args.model is not None or args.model_arg:
        raise UsageError(
            "--predictions scores files an external method wrote; it takes no --model/--model-arg"
        )
    if not args.name:
        raise UsageError(
            "--predictions DIR needs --name METHOD (the method's name in results and on the board)"
        )
    from lcad_bench.evaluation.exchange import PredictionsColorizer, load_model_info

    info = load_model_info(args.model_info) if args.model_info else None
    model = PredictionsColorizer(args.predictions, args.name, info)
    model.check_run(args.split, args.seed, args.n_seeds)
    return model


def run_merge(args: argparse.Namespace) -> int:
    from lcad_bench.evaluation.merge import merge_runs

    print(format_results(merge_runs(args.shards, args.out)))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from lcad_bench.evaluation.rundir import open_run

    res = open_run(args.run).results
    if args.json:
        print(res.model_dump_json(indent=2))
    elif args.format != "text":
        from lcad_bench.leaderboard.export import export_results
        from lcad_bench.metrics import catalogue

        print(export_results(res, args.format, catalogue(), ci=not args.no_ci), end="")
    else:
        print(format_results(res))
    return 0


def format_results(res) -> str:
    """Per-level table: rows = levels, columns = the metric catalogue's headline columns present in
    the run (mean [95% CI]) and its distribution metrics (FID). Everything else is in
    results.json and samples.parquet."""
    from lcad_bench.cli.table import render_table
    from lcad_bench.metrics import catalogue

    cells = {(c.level, c.metric): c for c in res.aggregates}
    present = {c.metric for c in res.aggregates if c.mean is not None}
    cat = catalogue()
    metrics = [n for n, info in cat.items() if info.headline and n in present]
    levels = [lv for lv in LEVELS if any(c.level == lv for c in res.aggregates)]
    dist = {(d["level"], d["metric"]): d for d in res.distribution_metrics}
    dist_names = sorted({d["metric"] for d in res.distribution_metrics})
    rows = []
    for lv in levels:
        row = [lv, max((cells[(lv, m)].n_pairs for m in metrics if (lv, m) in cells), default=0)]
        for m in metrics:
            c = cells.get((lv, m))
            d = cat[m].decimals
            row.append(
                "-"
                if c is None or c.mean is None
                else f"{c.mean:.{d}f} [{c.ci_low:.{d}f}, {c.ci_high:.{d}f}]"
            )
        for m in dist_names:
            d = dist.get((lv, m))
            row.append("-" if d is None or d.get("value") is None else f"{d['value']:.2f}")
        rows.append(row)
    labels = [cat[m].label for m in metrics] + [cat[m].label if m in cat else m for m in dist_names]
    table = render_table(["level", "n", *labels], rows)
    head = f"{res.model['name']} on {res.split['id']} ({res.split['n_pairs']} pairs)"
    extra = ""
    if res.skipped_metrics:
        extra += f"\nskipped metrics: {', '.join(res.skipped_metrics)} (weights missing: `lcad-bench weights`; reasons in results.json)"
    if res.warnings:
        extra += "\nwarnings: " + "; ".join(res.warnings)
    return head + "\n" + table + extra
