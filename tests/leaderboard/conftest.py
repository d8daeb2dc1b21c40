"""Fixture run folders and boards for the leaderboard tests (synthetic, known values)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from lcad_bench.protocol import LEVELS

PAIRS = [("img000#0", "img000"), ("img000#1", "img000"), ("img001#0", "img001")]

# model -> metric -> per-level means (complete, partial, sparse, none)
VALUES = {
    "oracle": {
        "psnr": (30.0, 29.0, 28.0, 27.0),
        "lpips": (0.10, 0.11, 0.12, 0.13),
        "cwhr_chromatic": (0.90, 0.85, 0.80, 0.10),
    },
    "text-tint": {
        "psnr": (25.0, 23.0, 21.5, 21.0),
        "lpips": (0.20, 0.22, 0.25, 0.26),
        "cwhr_chromatic": (0.60, 0.50, 0.40, 0.00),
    },
    "gray": {
        "psnr": (20.0, 20.0, 20.0, 20.0),
        "lpips": (0.30, 0.30, 0.30, 0.30),
        "cwhr_chromatic": (0.00, 0.00, 0.00, 0.00),
    },
}
FID = {"oracle": 1.5, "text-tint": 12.0, "gray": 30.0}
DESCRIPTIONS = {
    "complete": "a red car on green grass",
    "partial": "a red car on grass",
    "sparse": "a red car",
    "none": "",
}


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def make_run(root: Path, model: str, *, split: str = "tiny", limit: int | None = None, run_id: str | None = None,
             values: dict | None = None, colour: tuple[int, int, int] = (200, 40, 40)) -> Path:  # fmt: skip
    """A run folder like the runner writes (through the run-folder owner ``rundir``):
    results.json, samples.parquet, gt/ and outputs/."""
    from lcad_bench.evaluation import rundir
    from lcad_bench.evaluation.rundir import Cell, Results
    from lcad_bench.metrics.base import ColumnInfo

    vals = values or VALUES[model]
    run_id = run_id or f"{model}-cfg000000000-{split}hash0000"
    d = root / run_id
    rng = np.random.default_rng(0)
    for _, key in PAIRS:
        gt = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
        f = d / rundir.gt_relpath(key)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(_png(gt))
    rows = []
    cfg = "abcdef0123456789" + "0" * 48
    for li, lv in enumerate(LEVELS):
        for pid, key in PAIRS:
            arr = np.zeros((16, 16, 3), np.uint8)
            arr[...] = colour
            rel = rundir.output_relpath(cfg, lv, pid, 0)
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_bytes(_png(arr))
            units = [
                {
                    "phrase": "red car",
                    "term": "red",
                    "hit": bool(vals["cwhr_chromatic"][li] > 0.5),
                    "share": 0.4,
                }
            ]
            rows.append({"pair_id": pid, "image_key": key, "level": lv, "seed": 7, "description": DESCRIPTIONS[lv],
                         "output_path": rel, "output_sha256": "0" * 64, "error": None,
                         **{m: v[li] for m, v in vals.items()}, "cwhr_units": units})  # fmt: skip
    columns = [ColumnInfo(m, m, "", None) for m in vals] + [
        ColumnInfo("cwhr_units", "units", "", None, dtype="json")
    ]
    samples = rundir.write_samples(d, rows, columns)
    cells = [Cell(level=lv, metric=m, mean=v[li], ci_low=v[li] - 0.5 * abs(v[li]) * 0.02, ci_high=v[li] + 0.5 * abs(v[li]) * 0.02,
                  n_pairs=3, n_images=2) for m, v in vals.items() for li, lv in enumerate(LEVELS)]  # fmt: skip
    res = Results(
        run_id=run_id, created_at="2025-01-02T03:04:05Z",
        model={"name": model, "version": "1", "config": {"strength": 1.0}, "config_hash": "c" * 64,
               "luminance_replaced": model != "gray", "uses_instance_masks": False},
        split={"id": split, "content_hash": "h" * 64, "n_pairs": 3, "n_images": 2, "limit": limit, "shard": None},
        protocol={"protocol_version": "1.0", "eval_resolution": 256}, seeds={"base_seed": 0, "n_seeds": 1},
        environment={"lcad_bench": "0.1.0", "python": "3.11", "numpy": "2.0"},
        metrics={"psnr": {"backend": "numpy", "version": "1"}, "lpips": {"backend": "lpips", "weights": {"alex.pth": "ab" * 32}}},
        skipped_metrics={"clip_t": "no CLIP weights"}, aggregates=cells,
        distribution_metrics=[{"scheme": "controlled", "level": lv, "metric": "fid", "value": FID[model] + li, "n_fake": 3} for li, lv in enumerate(LEVELS)],
        warnings=["fid_small_n"], samples=samples,
    )  # fmt: skip
    rundir.write_results(d, res)
    return d


REPORTED = {
    "format": "lcad-bench-reported",
    "format_version": 1,
    "id": "example-2099-tab1",
    "citation": {
        "text": "A. Example and B. Example. A fictitious paper for tests. Test Venue 2099.",
        "url": "https://example.org/paper",
        "table": "Table 1",
    },  # fmt: skip
    "status": "second-hand",
    "provenance": {"transcribed_by": "tests", "transcribed_at": "2099-01-01"},
    "protocol_notes": "synthetic numbers for tests only",
    "split": "tiny",
    "entries": [
        {
            "model": "PaperNet",
            "level": "complete",
            "metrics": {"psnr": 26.5, "lpips": 0.15},
            "ci": {"psnr": [26.0, 27.0]},
        }
    ],
}


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for m in VALUES:
        make_run(root, m)
    make_run(
        root,
        "text-tint",
        limit=2,
        run_id="text-tint-limited-run",
        values={k: tuple(x + 1 for x in v) for k, v in VALUES["text-tint"].items()},
    )
    (root / "example.reported.json").write_text(json.dumps(REPORTED))
    return root


@pytest.fixture(scope="session")
def board_dir(runs_root, tmp_path_factory) -> Path:
    from lcad_bench.leaderboard.summarize import summarize

    out = tmp_path_factory.mktemp("board")
    s = summarize([runs_root], out)
    assert not s.warnings, s.warnings
    return out


@pytest.fixture
def app_path() -> str:
    from importlib.resources import files

    return str(files("lcad_bench.leaderboard") / "app.py")


@pytest.fixture
def make_run_fn():
    return make_run
