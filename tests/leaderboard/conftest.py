"""Fixture run folders and boards for the leaderboard tests (synthetic, known values).

Each run folder is written through the run-folder owner ``rundir`` and its cells are computed
from the per-sample rows by the runner's own ``aggregate`` (so results.json and samples.parquet
agree as in a real run). Per-pair values differ between pairs and the partial level exists for
two of the four pairs only, so the unpaired per-level means average different subsets: the
paired analysis has something to correct.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from lcad_bench.protocol import LEVELS

PAIRS = [("img000#0", "img000"), ("img000#1", "img000"), ("img001#0", "img001"), ("img002#0", "img002")]  # fmt: skip
PARTIAL_PAIRS = ("img000#0", "img001#0")  # the partial level exists for these two only
CF_GT = {"img000": 30.0, "img001": 40.0, "img002": 50.0}
SPLIT_HASH = {"tiny": "a" * 64, "tiny-other-content": "b" * 64}


def _lv(complete, partial, sparse, none):
    """Per-pair values per level: 4 values (one per pair) or one value for every pair; partial
    holds the values of PARTIAL_PAIRS (or one for both); None: the metric is undefined there."""

    def expand(v, n):
        return None if v is None else (list(v) if isinstance(v, (list, tuple)) else [v] * n)

    return {"complete": expand(complete, 4), "partial": expand(partial, 2), "sparse": expand(sparse, 4),
            "none": expand(none, 4)}  # fmt: skip


# model -> metric -> level -> per-pair values
VALUES = {
    "oracle": {
        "psnr": _lv([29, 31, 28, 32], [28, 27], [27, 29, 26, 30], [26, 28, 25, 29]),
        "lpips": _lv(0.10, 0.11, 0.12, 0.13),
        "cwhr_chromatic": _lv(1.0, 1.0, [1.0, 0.5, 1.0, 1.0], None),
        "cf_pred": _lv([40, 40, 50, 60], [40, 50], [40, 40, 50, 60], [40, 40, 50, 60]),
    },
    "text-tint": {
        "psnr": _lv([24, 26, 22, 28], [22, 20], [21, 22, 20, 23], 21),
        "lpips": _lv(0.20, 0.22, 0.25, 0.26),
        "cwhr_chromatic": _lv([0.5, 1.0, 0.5, 0.5], [0.5, 0.0], [0.0, 0.5, 0.5, 0.5], None),
        "cf_pred": _lv([28, 32, 36, 44], [28, 36], 20, 10),
    },
    "gray": {  # ignores the text: the same per-pair values at every level
        "psnr": _lv([14, 18, 22, 26], [14, 22], [14, 18, 22, 26], [14, 18, 22, 26]),
        "lpips": _lv(0.30, 0.30, 0.30, 0.30),
        "cwhr_chromatic": _lv(0.0, 0.0, 0.0, None),
        "cf_pred": _lv(0.0, 0.0, 0.0, 0.0),
    },
    "l-paste": {  # pastes the input L* back: ranked apart
        "psnr": _lv([25, 27, 23, 29], [24, 22], 23, 22),
        "lpips": _lv(0.15, 0.16, 0.18, 0.20),
        "cwhr_chromatic": _lv(0.5, 0.5, 0.5, None),
        "cf_pred": _lv([30, 30, 40, 50], [30, 40], 30, 20),
    },
}
FLAGS = {  # model -> (luminance_replaced, oracle)
    "oracle": (False, True), "text-tint": (False, False), "gray": (False, False), "l-paste": (True, False),
}  # fmt: skip
FID = {"oracle": 1.5, "text-tint": 12.0, "gray": 30.0, "l-paste": 10.0}
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


def fixture_run_id(model: str, split: str, limit: int | None, levels=LEVELS) -> str:
    from lcad_bench.evaluation.identity import run_id_of, run_identity

    ident = run_identity(model_config={"name": model, "version": "1"}, split_content_hash=SPLIT_HASH[split],
                         protocol={"protocol_version": "1.0"}, levels=levels, limit=limit, seeds={"base_seed": 0})  # fmt: skip
    return run_id_of(model, ident, None)


def scene(key: str) -> np.ndarray:
    """A ground truth: a red car on green grass under a blue sky (position varies by image)."""
    k = int(key[-3:])
    img = np.zeros((64, 96, 3), np.uint8)
    img[:24] = (110, 160, 225)
    img[24:] = (60, 140, 55)
    img[30 + 3 * k : 50 + 3 * k, 20 + 10 * k : 62 + 10 * k] = (200, 35, 35)
    img[46 + 3 * k : 52 + 3 * k, 24 + 10 * k : 58 + 10 * k] = (30, 30, 30)
    return img


def render(model: str, gt: np.ndarray, level: str) -> np.ndarray:
    """A plausible output of a fixture model (gray: the luminance; others: less colour with
    sparser descriptions)."""
    lum = (gt.astype(float) @ np.array([0.299, 0.587, 0.114]))[..., None]
    keep = {"gray": 0.0, "oracle": 0.95, "text-tint": 0.7, "l-paste": 0.8}.get(model, 0.5)
    keep *= {"complete": 1.0, "partial": 0.8, "sparse": 0.6, "none": 0.3}[level]
    return np.clip(lum + keep * (gt - lum), 0, 255).astype(np.uint8)


def make_run(root: Path, model: str, *, split: str = "tiny", limit: int | None = None, run_id: str | None = None,
             values: dict | None = None, levels=LEVELS, fail: set[tuple[str, str]] = frozenset(),
             model_name: str | None = None, folder: str | None = None, descriptions: dict | None = None,
             split_name: str | None = None, warnings: list[str] | None = None, error: str | None = None,
             protocol: dict | None = None) -> Path:  # fmt: skip
    """A run folder like the runner writes: results.json, samples.parquet, gt/ and outputs/.
    ``limit`` keeps the first ``limit`` pairs; ``fail`` = {(pair_id, level)} samples that failed
    (with ``error``); ``protocol`` updates the protocol block; the other keywords replace
    recorded texts (the injection tests use them)."""
    from lcad_bench.evaluation import rundir
    from lcad_bench.evaluation.aggregate import aggregate
    from lcad_bench.evaluation.rundir import Results
    from lcad_bench.metrics import catalogue
    from lcad_bench.metrics.base import ColumnInfo

    vals = values or VALUES[model]
    name = model_name or model
    run_id = run_id or fixture_run_id(name, split, limit, levels)
    d = root / (folder or run_id)
    pairs = PAIRS[:limit] if limit else PAIRS
    for key in sorted({k for _, k in pairs}):
        f = d / rundir.gt_relpath(key)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(_png(scene(key)))
    rows = []
    cfg = "abcdef0123456789" + "0" * 48
    for lv in levels:
        for pid, key in pairs:
            if lv == "partial" and pid not in PARTIAL_PAIRS:
                continue  # the partial level is undefined for this pair
            i = PARTIAL_PAIRS.index(pid) if lv == "partial" else [p for p, _ in PAIRS].index(pid)
            failed = (pid, lv) in fail
            rel = rundir.output_relpath(cfg, lv, pid, 0)
            if not failed:
                (d / rel).parent.mkdir(parents=True, exist_ok=True)
                (d / rel).write_bytes(_png(render(model, scene(key), lv)))
            row = {"pair_id": pid, "image_key": key, "level": lv, "seed": 7,
                   "description": (descriptions or DESCRIPTIONS)[lv], "output_path": None if failed else rel,
                   "output_sha256": None if failed else "0" * 64,
                   "error": (error or "model raised ValueError: boom") if failed else None}  # fmt: skip
            if not failed:
                for m, per in vals.items():
                    if per.get(lv) is not None:
                        row[m] = float(per[lv][i])
                row["cf_gt"] = CF_GT[key]
                cw = vals.get("cwhr_chromatic", {}).get(lv)
                if cw is not None:
                    row["cwhr_units"] = [
                        {"phrase": "red car", "term": "red", "hit": bool(cw[i] > 0.5), "share": 0.4}
                    ]
            rows.append(row)
    cat = catalogue()
    names = [*vals, "cf_gt"]
    columns = [cat.get(m) or ColumnInfo(m, m, "", None) for m in names]
    if "cf_pred" in vals:
        columns.append(cat["delta_cf"])
    columns.append(cat["cwhr_units"])
    samples = rundir.write_samples(d, rows, columns)
    cells = aggregate(rows, columns, list(levels))
    lum, oracle = FLAGS.get(model, (False, False))
    res = Results(
        run_id=run_id, created_at="2025-01-02T03:04:05Z",
        model={"name": name, "version": "1", "config": {"strength": 1.0}, "config_hash": "c" * 64,
               "luminance_replaced": lum, "uses_instance_masks": False, "oracle": oracle},
        split={"id": split_name or split.split("-other")[0], "content_hash": SPLIT_HASH[split], "n_pairs": len(pairs),
               "n_images": len({k for _, k in pairs}), "limit": limit, "shard": None},
        protocol={"protocol_version": "1.0", "eval_resolution": 256, "levels": list(levels), **(protocol or {})},
        seeds={"base_seed": 0, "n_seeds": 1},
        environment={"lcad_bench": "0.1.0", "python": "3.11", "numpy": "2.0"},
        metrics={"psnr": {"backend": "numpy", "version": "1"}, "lpips": {"backend": "lpips", "weights": {"alex.pth": "ab" * 32}}},
        skipped_metrics={"clip_t": "no CLIP weights"}, aggregates=cells,
        distribution_metrics=[{"scheme": "controlled", "level": lv, "metric": "fid", "value": FID.get(model, 20.0) + li,
                               "n_fake": len(pairs)} for li, lv in enumerate(levels)],
        counts={"samples": len(rows), "failed": len(fail)},
        warnings=["fid_small_n"] if warnings is None else warnings, samples=samples,
    )  # fmt: skip
    rundir.write_results(d, res)
    return d


LIMITED_VALUES = {
    m: {lv: (None if v is None else [x + 0.5 for x in v]) for lv, v in per.items()} if m == "psnr" else per
    for m, per in VALUES["text-tint"].items()
}  # fmt: skip

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
    make_run(root, "text-tint", limit=2, values=LIMITED_VALUES)
    (root / "example.reported.json").write_text(json.dumps(REPORTED))
    return root


@pytest.fixture(scope="session")
def board_dir(runs_root, tmp_path_factory) -> Path:
    from lcad_bench.leaderboard.summarize import summarize

    out = tmp_path_factory.mktemp("board")
    s = summarize([runs_root], out)
    assert not s.warnings, s.warnings
    return out


@pytest.fixture(scope="session")
def run_ids(board_dir) -> dict[str, str]:
    """model (``text-tint@limit2`` for the limited run) -> run id."""
    return {"oracle": fixture_run_id("oracle", "tiny", None), "text-tint": fixture_run_id("text-tint", "tiny", None),
            "gray": fixture_run_id("gray", "tiny", None), "l-paste": fixture_run_id("l-paste", "tiny", None),
            "text-tint@limit2": fixture_run_id("text-tint", "tiny", 2)}  # fmt: skip


@pytest.fixture
def app_path() -> str:
    from importlib.resources import files

    return str(files("lcad_bench.leaderboard") / "app.py")


@pytest.fixture
def make_run_fn():
    return make_run


@pytest.fixture(scope="session")
def fixture_values():
    """model -> metric -> level -> per-pair values of the fixture runs (:data:`VALUES`)."""
    return VALUES


def _plain(text: str) -> str:
    """Text as a Markdown element renders it: the app backslash-escapes untrusted text."""
    import re

    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


@pytest.fixture(scope="session")
def plain():
    return _plain
