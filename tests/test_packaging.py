"""The wheel publishes one top-level name; the outer folders install as subpackages."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "name", ["lcad_bench.builders", "lcad_bench.baselines", "lcad_bench.leaderboard"]
)
def test_outer_folders_import_from_installed_package(name):
    mod = importlib.import_module(name)
    folder = name.split(".")[-1]
    assert Path(mod.__file__).resolve().parent == (ROOT / folder).resolve()


def test_packages_list_matches_init_folders():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(cfg["packages"])
    mapping = {v: k for k, v in cfg["package-dir"].items()}
    found = set()
    for init in ROOT.glob("**/__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if rel.parts[0] in (".venv", "tests", "benchmarks", "build") or rel.parts[0].startswith(
            "."
        ):
            continue
        top = rel.parts[0]
        base = mapping.get(top, top)
        found.add(".".join([base, *rel.parts[1:]]))
    assert declared == found, f"pyproject packages {sorted(declared)} != folders {sorted(found)}"


def test_no_generic_top_level_names():
    for generic in ("builders", "baselines", "leaderboard"):
        spec = importlib.util.find_spec(generic)
        assert (
            spec is None
            or Path(spec.origin or "").resolve().parent != (ROOT / generic).resolve()
            or str(ROOT) in sys.path
        )


def test_help_lists_every_command_with_an_example():
    from lcad_bench.cli import COMMANDS, build_parser

    text = build_parser().format_help()
    for name, _module, summary in COMMANDS:
        assert name in text
        assert "lcad-bench" in summary, f"{name}: the summary must carry an example"
    out = subprocess.run(
        [sys.executable, "-m", "lcad_bench", "--help"], capture_output=True, text=True, check=True
    )
    assert "describe" in out.stdout and "examples" in out.stdout
    for name, _module, _summary in COMMANDS:
        sub = subprocess.run(
            [sys.executable, "-m", "lcad_bench", name, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert sub.returncode == 0, sub.stderr
        assert "examples:" in sub.stdout and f"lcad-bench {name}" in sub.stdout


def test_help_does_not_import_torch():
    code = "import sys; from lcad_bench.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_command_imports_only_its_own_module():
    """``lcad-bench describe`` registers only its own parser: the builders, the evaluation and
    the leaderboard are never imported on its way (start-up time is part of every command)."""
    code = (
        "import sys; from lcad_bench.cli import main; rc = main(['describe', 'a red car', '--json']);"
        "print(rc, sorted(m for m in ('lcad_bench.builders', 'lcad_bench.evaluation', 'lcad_bench.leaderboard', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"
