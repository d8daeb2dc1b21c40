"""The ``lcad-bench`` command line. Each subcommand lives in its own module of this package
with ``register(subparsers)`` (adds its parser, sets ``func``) and is imported lazily enough
that ``lcad-bench --help`` never imports torch."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from lcad_bench import __version__
from lcad_bench.errors import ExitCode, LcadBenchError

# (command, module, one-line summary with an example) in the order --help lists them
COMMANDS: list[tuple[str, str, str]] = [
    (
        "describe",
        "describe",
        'colour phrases and any-level descriptions: lcad-bench describe "a red car"',
    ),
    ("demo", "demo", "the main job on the embedded demo data: lcad-bench demo"),
    (
        "build",
        "build",
        "build a split: lcad-bench build coco-stuff --captions C.json --instances I.json --images DIR --out OUT",
    ),
    (
        "evaluate",
        "evaluate",
        "run and score a model: lcad-bench evaluate --model gray --split data/demo --out runs/gray",
    ),
    (
        "export-inputs",
        "export",
        "a split's inputs as files for a method outside Python: lcad-bench export-inputs --split data/ecs --out exchange/ecs",
    ),
    ("show", "evaluate", "print a run's per-level table: lcad-bench show runs/gray"),
    ("merge", "evaluate", "combine --shard runs: lcad-bench merge runs/m-0 runs/m-1 --out runs/m"),
    (
        "weights",
        "weights",
        "list/import metric weights offline: lcad-bench weights import vgg16-397923af.pth",
    ),
    (
        "convert-checkpoint",
        "convert_checkpoint",
        "official L-CAD weights -> pipeline folder: lcad-bench convert-checkpoint lcad.ckpt --text-encoder CLIP_DIR --out DIR",
    ),
    (
        "train",
        "train",
        "train L-CAD stage 1/2: lcad-bench train --stage 2 --split data/ecs --pipeline DIR --out runs/s2",
    ),
    (
        "summarize",
        "leaderboard",
        "run folders -> leaderboard tables: lcad-bench summarize runs/ --out board/",
    ),
    (
        "leaderboard",
        "leaderboard",
        "serve the Streamlit board: lcad-bench leaderboard --board board/",
    ),
    (
        "study",
        "leaderboard",
        "user-study export/analyze/import-likert: lcad-bench study analyze --board board/",
    ),
]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser. With ``command`` (the subcommand being run) only that command's
    module is imported and registered in full; every other command gets a one-line stub, so a
    command's start-up never pays for the others' imports (``lcad-bench describe`` does not
    import the builders). Without it every command is registered in full."""
    epilog = "commands (examples):\n" + "\n".join(
        f"  {name:<20} {summary}" for name, _m, summary in COMMANDS
    )
    parser = argparse.ArgumentParser(
        prog="lcad-bench",
        description="Benchmark for language-based image colorization at any level of description.",
        epilog=epilog,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"lcad-bench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {m for n, m, _s in COMMANDS if command is None or n == command}
    done: set[str] = set()
    for name, module_name, summary in COMMANDS:
        if module_name in modules:
            if module_name not in done:
                done.add(module_name)
                importlib.import_module(f"lcad_bench.cli.{module_name}").register(sub)
        else:
            sub.add_parser(name, help=summary.split(":")[0], add_help=False)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (its first word that is not an option), if known."""
    names = {n for n, _m, _s in COMMANDS}
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in names else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lcad-bench`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return int(ExitCode.USAGE)
    try:
        return int(args.func(args) or 0)
    except LcadBenchError as exc:
        print(f"lcad-bench {args.command}: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(
            "interrupted; everything already written is kept: rerun the same command to resume.",
            file=sys.stderr,
        )
        return 130
    except SystemExit as exc:
        # no command exits by itself: this came from a plug-in (a model, a metric) that called
        # exit(); never let it pass as "success" with nothing written
        traceback.print_exc()
        print(
            f"lcad-bench {args.command}: error: code outside lcad-bench called exit({exc.code!r}) "
            "(see the traceback above); nothing was finished",
            file=sys.stderr,
        )
        return int(ExitCode.BUG)
    except BrokenPipeError:
        return 0
    except Exception:  # noqa: BLE001  (a bug: show it in full)
        traceback.print_exc()
        print(
            "lcad-bench: unexpected error (a bug); please report it with the traceback above.",
            file=sys.stderr,
        )
        return int(ExitCode.BUG)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
