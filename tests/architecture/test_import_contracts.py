"""The import contracts of pyproject.toml hold, and a backwards import breaks them."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "lcad_lint_imports", Path(__file__).with_name("lint_imports.py")
)
lint = importlib.util.module_from_spec(_spec)
sys.modules["lcad_lint_imports"] = lint
_spec.loader.exec_module(lint)

pytestmark = pytest.mark.skipif(
    not Path(sys.executable).with_name("lint-imports").exists(),
    reason="import-linter is not installed (pip install -e '.[dev]')",
)


def test_contracts_hold(tmp_path):
    res = lint.lint_imports(lint.link_tree(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Contracts: 3 kept, 0 broken." in res.stdout


def test_backwards_import_is_caught(tmp_path):
    """A scratch module in the text layer that imports the evaluation layer breaks the layers
    contract, and the report names the offending import."""
    tree = lint.link_tree(tmp_path)
    text = tree / "lcad_bench" / "text"
    text.unlink()
    shutil.copytree(
        lint.ROOT / "lcad_bench" / "text", text, ignore=shutil.ignore_patterns("__pycache__")
    )
    (text / "scratch_backwards.py").write_text("from lcad_bench.evaluation import rundir  # noqa\n")
    res = lint.lint_imports(tree)
    assert res.returncode == 1
    assert "Pipeline layers" in res.stdout and "BROKEN" in res.stdout
    assert "lcad_bench.text.scratch_backwards -> lcad_bench.evaluation.rundir" in res.stdout
