"""``lcad-bench weights import`` into a cache it cannot write: exit 3 naming the folder and the
fix, never a traceback, nothing installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lcad_bench.errors import ExitCode

# the CLI in a subprocess, with one tiny file added to the weights manifest
SCRIPT = """
import hashlib, sys
from lcad_bench.metrics.weights import MANIFEST, WeightFile
src = sys.argv[1]
data = open(src, "rb").read()
MANIFEST["tiny-weights.pth"] = WeightFile(
    name="tiny-weights.pth", sha256=hashlib.sha256(data).hexdigest(),
    url="https://example.org/tiny-weights.pth", licence="test", metrics=("psnr",))
from lcad_bench.cli import main
sys.exit(main(["weights", "import", src]))
"""


def _import(src: Path, torch_home: Path) -> tuple[int, str]:
    env = {**os.environ, "TORCH_HOME": str(torch_home)}
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(src)], capture_output=True, text=True,
                       env=env, timeout=120, check=False)  # fmt: skip
    return p.returncode, p.stderr


@pytest.fixture
def tiny(tmp_path):
    src = tmp_path / "download" / "tiny-weights.pth"
    src.parent.mkdir()
    src.write_bytes(b"tiny weights")
    return src


def test_cache_under_a_file_is_exit_3_naming_the_folder(tmp_path, tiny):
    """A TORCH_HOME under a regular file cannot be created, for root too."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    rc, err = _import(tiny, blocker / "torch")
    assert rc == ExitCode.MISSING, err
    assert "Traceback" not in err
    folder = blocker / "torch" / "hub" / "checkpoints"
    assert f"cannot install tiny-weights.pth into {folder}" in err
    assert "set TORCH_HOME to a writable folder" in err
    assert blocker.read_text() == "x"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes into read-only folders; the case under a file covers root",
)
def test_read_only_cache_is_exit_3_naming_the_folder(tmp_path, tiny):
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    try:
        rc, err = _import(tiny, tmp_path / "torch")
    finally:
        folder.chmod(0o700)
    assert rc == ExitCode.MISSING, err
    assert "Traceback" not in err and f"into {folder}: Permission denied" in err
    assert list(folder.iterdir()) == []
