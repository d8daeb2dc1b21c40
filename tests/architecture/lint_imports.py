"""Run import-linter on the installed package's layout.

``builders/``, ``baselines/`` and ``leaderboard/`` are installed as ``lcad_bench.builders`` (and
so on) by a ``package-dir`` mapping that import-linter cannot follow, so this script assembles a
link tree (``lcad_bench/`` with the three folders linked in) and runs ``lint-imports`` on it
with the contracts of ``pyproject.toml``. Usage: ``python tests/architecture/lint_imports.py``
(exit code and output of lint-imports)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTER = ("builders", "baselines", "leaderboard")


def link_tree(dest: Path, root: Path = ROOT) -> Path:
    """``dest/lcad_bench``: links to every entry of ``root/lcad_bench`` and the outer folders."""
    pkg = dest / "lcad_bench"
    pkg.mkdir(parents=True)
    for entry in (root / "lcad_bench").iterdir():
        if entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    for name in OUTER:
        (pkg / name).symlink_to(root / name)
    return dest


def lint_imports(tree: Path, config: Path = ROOT / "pyproject.toml") -> subprocess.CompletedProcess:
    """``lint-imports`` on a link tree (no cache, so a changed tree is always re-read)."""
    exe = Path(sys.executable).with_name("lint-imports")
    env = os.environ | {"PYTHONPATH": str(tree)}
    return subprocess.run([str(exe), "--no-cache", str(config)], cwd=tree, env=env,
                          capture_output=True, text=True)  # fmt: skip


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lcad-importlint-") as tmp:
        res = lint_imports(link_tree(Path(tmp)))
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main())
