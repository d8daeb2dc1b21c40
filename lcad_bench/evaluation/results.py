"""Aggregation and the results file (benchmark-protocol.md section 7).

Per level x metric cell: the mean over pairs (seeds averaged per pair first), a 95% percentile
bootstrap interval that resamples *images* (pairs sharing a ground truth are correlated;
B = 1,000, seed recorded), n_pairs, n_images and n_failed.
"""

from __future__ import annotations

import json
import platform
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1
BOOTSTRAP_B = 1000
BOOTSTRAP_SEED = 12345


class Cell(BaseModel):
    """One aggregate."""

    model_config = ConfigDict(extra="forbid")
    scheme: str = "controlled"
    level: str
    metric: str
    mean: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n_pairs: int
    n_images: int
    n_failed: int = 0
    n_units: int | None = None


class Results(BaseModel):
    """results.json."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: str
    model: dict[str, Any]
    split: dict[str, Any]
    protocol: dict[str, Any]
    seeds: dict[str, Any]
    environment: dict[str, Any]
    metrics: dict[str, Any]
    skipped_metrics: dict[str, str] = {}
    aggregates: list[Cell]
    distribution_metrics: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    warnings: list[str] = []
    samples: dict[str, Any] = {}


def bootstrap_ci(
    values: np.ndarray, groups: np.ndarray, b: int = BOOTSTRAP_B, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95% percentile interval of the mean, resampling groups (images) with replacement."""
    uniq, inv = np.unique(groups, return_inverse=True)
    g = len(uniq)
    if g < 2:
        m = float(values.mean())
        return m, m
    sums = np.bincount(inv, weights=values, minlength=g)
    cnts = np.bincount(inv, minlength=g).astype(float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, g, size=(b, g))
    means = sums[idx].sum(axis=1) / cnts[idx].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def aggregate(
    rows: Sequence[dict[str, Any]], metric_names: Sequence[str], levels: Sequence[str]
) -> list[Cell]:
    """Cells from per-sample rows (keys: pair_id, image_key, level, error, <metric>...)."""
    cells = []
    for level in levels:
        lrows = [r for r in rows if r["level"] == level]
        if not lrows:
            continue
        failed = sum(1 for r in lrows if r.get("error"))
        for m in metric_names:
            per_pair: dict[str, list[float]] = defaultdict(list)
            img_of: dict[str, str] = {}
            for r in lrows:
                v = r.get(m)
                if (
                    r.get("error")
                    or isinstance(v, bool)
                    or not isinstance(v, (int, float, np.number))
                    or np.isnan(v)
                ):
                    continue  # failed samples, missing values and non-scalar diagnostics
                per_pair[r["pair_id"]].append(float(v))
                img_of[r["pair_id"]] = r["image_key"]
            if not per_pair:
                if any(isinstance(r.get(m), (int, float)) for r in lrows) or all(
                    r.get("error") for r in lrows
                ):
                    cells.append(
                        Cell(
                            level=level, metric=m, mean=None, n_pairs=0, n_images=0, n_failed=failed
                        )
                    )
                continue
            pairs = sorted(per_pair)
            vals = np.array([np.mean(per_pair[p]) for p in pairs])
            groups = np.array([img_of[p] for p in pairs])
            lo, hi = bootstrap_ci(vals, groups)
            cells.append(Cell(level=level, metric=m, mean=float(vals.mean()), ci_low=lo, ci_high=hi,
                              n_pairs=len(pairs), n_images=len(set(groups)), n_failed=failed))  # fmt: skip
    return cells


def git_sha() -> dict[str, Any]:
    """The lcad-bench checkout's commit and dirty flag (when run from a git checkout)."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                check=True,
                timeout=5,
            ).stdout.strip()
        )
        return {"git_sha": sha, "git_dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"git_sha": None, "git_dirty": None}


def environment() -> dict[str, Any]:
    """Versions and devices (protocol section 7)."""
    import importlib.metadata as md

    import lcad_bench

    def v(pkg: str) -> str | None:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return None

    env: dict[str, Any] = {
        "lcad_bench": lcad_bench.__version__,
        **git_sha(),
        "python": platform.python_version(),
    }
    for pkg in (
        "torch",
        "torchvision",
        "diffusers",
        "transformers",
        "numpy",
        "scikit-image",
        "spacy",
        "torchmetrics",
        "lpips",
        "pytorch-fid",
        "pillow",
    ):
        env[pkg] = v(pkg)
    try:
        import torch

        env["cuda"] = torch.version.cuda
        env["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        env["cudnn_deterministic"] = bool(torch.backends.cudnn.deterministic)
    except ImportError:
        env["device"] = "cpu"
    return env


def write_results(path: Path, results: Results) -> None:
    """Atomic write of results.json."""
    from lcad_bench.fileio import atomic_write_text

    atomic_write_text(path, results.model_dump_json(indent=2) + "\n")


def load_results(path: str | Path) -> Results:
    """Read and validate a results.json."""
    from lcad_bench.errors import InputFormatError, MissingInputError

    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    if not p.is_file():
        raise MissingInputError(f"{p}: no results.json; run `lcad-bench evaluate` first")
    try:
        return Results.model_validate(json.loads(p.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValueError) as exc:
        raise InputFormatError(f"{p}: not a valid results file ({str(exc)[:200]})") from exc
