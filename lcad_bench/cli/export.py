"""``lcad-bench export-inputs``: the inputs of a split as files for a method outside Python."""

from __future__ import annotations

import argparse
import sys

from lcad_bench.protocol import LEVELS

EXAMPLES = """examples:
  lcad-bench export-inputs --split data/ecs --out exchange/ecs
  lcad-bench export-inputs --split data/ecs --levels complete none --limit 500 --out exchange/ecs-500
then, after the method wrote the files named in exchange/ecs/manifest.jsonl:
  lcad-bench evaluate --predictions exchange/ecs --name my-method --split data/ecs --out runs/my-method
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-inputs", help="write a split's model inputs as files for a method outside Python",
                       description="Write, per pair and level, the protocol's gray input (PNG), the description, the "
                       "linked instance masks (PNG) and phrases, and a manifest.jsonl naming the file each output "
                       "must be written to; score the outputs with `lcad-bench evaluate --predictions`.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--split", required=True, help="split folder built by lcad-bench build")
    p.add_argument("--out", required=True, help="exchange folder to write")
    p.add_argument(
        "--levels", nargs="+", choices=LEVELS, default=None, help="levels (default: all)"
    )
    p.add_argument("--limit", type=int, default=None, help="first N pairs only")
    p.add_argument("--seed", type=int, default=0, help="base seed (per-pair seeds derive from it)")
    p.add_argument("--n-seeds", type=int, default=1)
    p.add_argument("--shard", default=None, help="i/n: the i-th of n deterministic shards")
    p.add_argument("--overwrite", action="store_true",
                   help="rewrite the inputs in a non-empty --out (other files are kept)")  # fmt: skip
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from lcad_bench.evaluation.exchange import MANIFEST_FILE, README_FILE, export_inputs
    from lcad_bench.evaluation.plan import parse_shard

    h = export_inputs(args.split, args.out, levels=args.levels, limit=args.limit, base_seed=args.seed,
                      n_seeds=args.n_seeds, shard=parse_shard(args.shard), overwrite=args.overwrite,
                      quiet=args.quiet)  # fmt: skip
    c = h.counts
    print(f"{c['requests']} requests ({c['pairs']} pairs, {c['images']} images) -> {args.out}/{MANIFEST_FILE}; "
          f"instructions in {args.out}/{README_FILE}")  # fmt: skip
    for f in h.failed:
        print(f"not exported: {f['pair_id']}: {f['error']}", file=sys.stderr)
    return 5 if h.failed else 0
