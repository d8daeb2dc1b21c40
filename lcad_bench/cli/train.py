"""``lcad-bench train``: stage 1 (luminance encoder) or stage 2 (diffusion) training of L-CAD."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = """Train the reference L-CAD model with accelerate (see docs/lcad.md, "Training").
Stage 2 fine-tunes conv_in, the UNet up blocks and conv_out (AdamW, lr 2e-5, as the official code);
stage 1 trains the luminance encoder through the luminance-guided decoder (project-defined loss,
the official one is unpublished). The split is a JSONL of {"image", "caption"|"captions"} records or
an L-CAD caption JSON {"<file>": [captions]}. Checkpoints go to OUT/checkpoints/step-N, the final
pipeline to OUT/final, per-step losses to OUT/train_log.jsonl.
"""

EXAMPLES = """examples:
  lcad-bench train --stage 2 --split data/train.jsonl --pipeline models/lcad-pipeline --out runs/stage2
  lcad-bench train --stage 2 --split caption_train.json --image-root coco/train2017 --pipeline models/lcad-pipeline --out runs/stage2 --resume latest
"""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train L-CAD (stage 1 or 2)",
        description=HELP,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--stage",
        type=int,
        choices=(1, 2),
        required=True,
        help="1: luminance encoder; 2: diffusion UNet",
    )
    parser.add_argument(
        "--split",
        type=Path,
        required=True,
        help="training split: a folder from lcad-bench build, JSONL records or a caption JSON",
    )
    parser.add_argument(
        "--pipeline",
        type=Path,
        required=True,
        help="initial pipeline folder (convert-checkpoint output)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="run folder (checkpoints, log, final pipeline)"
    )
    parser.add_argument(
        "--image-root",
        type=Path,
        default=None,
        help="folder for relative image paths (default: the split's folder)",
    )
    parser.add_argument(
        "--steps", type=int, default=1000, help="total optimiser steps (default 1000)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=16, help="images per step (official: 16 per GPU x 2)"
    )
    parser.add_argument(
        "--lr", type=float, default=None, help="learning rate (default: 2e-5 stage 2, 1e-4 stage 1)"
    )
    parser.add_argument(
        "--caption-dropout",
        type=float,
        default=0.0,
        help="probability of an empty caption (official 0)",
    )
    parser.add_argument(
        "--resolution", type=int, default=256, help="training resolution (official 256)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--save-every", type=int, default=500, help="checkpoint every N steps (0: only at the end)"
    )
    parser.add_argument("--log-every", type=int, default=10, help="print the loss every N steps")
    parser.add_argument(
        "--resume", default=None, help="checkpoint folder (OUT/checkpoints/step-N) or 'latest'"
    )
    parser.add_argument(
        "--mixed-precision",
        choices=("no", "fp16", "bf16"),
        default="no",
        help="accelerate mixed precision (official fp32)",
    )
    parser.add_argument(
        "--trainable",
        choices=("official", "conv_in"),
        default="official",
        help="stage 2 parameters: official (conv_in + up blocks + out) or conv_in (pre-2024-01-23 code)",
    )
    parser.add_argument(
        "--no-augment", action="store_true", help="plain resize instead of RandomResizedCrop + flip"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Build the TrainConfig and run it."""
    from lcad_bench.errors import UsageError
    from lcad_bench.lcad.train import TrainConfig, train

    if args.steps < 1 or args.batch_size < 1:
        raise UsageError("--steps and --batch-size must be positive")
    cfg = TrainConfig(
        stage=args.stage,
        split=args.split,
        pipeline=args.pipeline,
        out=args.out,
        image_root=args.image_root,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        caption_dropout=args.caption_dropout,
        resolution=args.resolution,
        seed=args.seed,
        save_every=args.save_every,
        log_every=args.log_every,
        resume=None
        if args.resume is None
        else (args.resume if args.resume == "latest" else Path(args.resume)),
        mixed_precision=args.mixed_precision,
        trainable=args.trainable,
        augment=not args.no_augment,
    )
    train(cfg)
    return 0
