"""``lcad-bench convert-checkpoint``: official L-CAD weights → a local LCADPipeline folder."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = """Convert an official L-CAD checkpoint (ControlLDM_cat state_dict, .ckpt or .safetensors) into
an lcad-bench pipeline folder (diffusers layout, safetensors). The CLIP text weights come from the
checkpoint; --text-encoder gives the CLIP ViT-L/14 config and tokenizer files (a local copy of
openai/clip-vit-large-patch14, or an SD 1.x folder with text_encoder/ and tokenizer/).
Checkpoints are read with torch.load(weights_only=True); --allow-pickle lifts that for trusted files.
"""

EXAMPLES = """examples:
  lcad-bench convert-checkpoint models/lcad.ckpt --text-encoder ~/models/clip-vit-large-patch14 --out models/lcad-pipeline
  lcad-bench convert-checkpoint lcad.safetensors --text-encoder ~/sd15 --out lcad-fp16 --dtype float16
"""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``convert-checkpoint`` subcommand."""
    parser = subparsers.add_parser(
        "convert-checkpoint",
        help="convert official L-CAD weights into a pipeline folder",
        description=HELP,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "checkpoint", type=Path, help="official checkpoint (.ckpt/.pt/.pth or .safetensors)"
    )
    parser.add_argument(
        "--text-encoder",
        type=Path,
        required=True,
        help="folder with the CLIP text config (and tokenizer)",
    )
    parser.add_argument(
        "--tokenizer", type=Path, default=None, help="tokenizer folder if not inside --text-encoder"
    )
    parser.add_argument("--out", type=Path, required=True, help="new (or empty) output folder")
    parser.add_argument(
        "--dtype",
        choices=("float32", "float16", "bfloat16"),
        default="float32",
        help="saved weight dtype (default float32)",
    )
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow pickled objects in a .ckpt (runs code from the file; trusted files only)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the conversion; errors are LcadBenchError subclasses with exit codes."""
    import torch

    from lcad_bench.lcad.convert import convert_checkpoint

    convert_checkpoint(
        args.checkpoint,
        text_encoder=args.text_encoder,
        tokenizer=args.tokenizer,
        out=args.out,
        allow_pickle=args.allow_pickle,
        dtype=getattr(torch, args.dtype),
    )
    return 0
