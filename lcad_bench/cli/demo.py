"""``lcad-bench demo``: the main job on embedded data (no network, no downloads)."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  lcad-bench demo
  lcad-bench demo --spacy-model en_core_web_sm
"""


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "demo",
        help="run the main job on the embedded demo data",
        description="Describe the embedded demo captions at every level and print the table.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--spacy-model", default=None, help="spaCy pipeline name or path")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from importlib.resources import files

    from lcad_bench.cli.describe import _summary, format_described
    from lcad_bench.describe import Caption, describe_analyses
    from lcad_bench.phrases import get_extractor

    text = (files("lcad_bench") / "resources" / "demo_captions.txt").read_text(encoding="utf-8")
    caps = [
        Caption(f"demo{i}", line.strip())
        for i, line in enumerate(ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
    ]
    ex = get_extractor(args.spacy_model)
    described = describe_analyses(caps, ex.analyse_many([c.text for c in caps]))
    print(f"spaCy pipeline: {ex.info['name']} {ex.info['version']} (spaCy {ex.info['spacy_version']})")
    print(format_described(described))
    print(_summary(described))
    return 0
