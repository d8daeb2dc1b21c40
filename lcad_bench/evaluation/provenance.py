"""Where a result came from: lcad-bench version and git commit, package versions, device and
determinism flags (docs/protocol.md#results-file). Versions are read with ``importlib.metadata``,
so recording them never imports torch; device facts are read from torch only when the model
already imported it."""

from __future__ import annotations

import importlib.metadata as md
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGES = (
    "torch", "torchvision", "diffusers", "transformers", "numpy", "scikit-image", "spacy",
    "torchmetrics", "lpips", "pytorch-fid", "pillow",
)  # fmt: skip


def git_sha() -> dict[str, Any]:
    """The lcad-bench checkout's commit and dirty flag (when run from a git checkout)."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=5).stdout.strip()  # fmt: skip
        dirty = bool(subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=5,
        ).stdout.strip())  # fmt: skip
        return {"git_sha": sha, "git_dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"git_sha": None, "git_dirty": None}


def _version(pkg: str) -> str | None:
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Versions and devices."""
    import lcad_bench

    env: dict[str, Any] = {
        "lcad_bench": lcad_bench.__version__,
        **git_sha(),
        "python": platform.python_version(),
        **{pkg: _version(pkg) for pkg in PACKAGES},
        "device": "cpu",
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        env["cuda"] = torch.version.cuda
        if torch.cuda.is_available():
            env["device"] = torch.cuda.get_device_name(0)
        env["cudnn_deterministic"] = bool(torch.backends.cudnn.deterministic)
    return env
