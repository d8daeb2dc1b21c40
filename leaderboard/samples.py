"""Sample viewer data: per-sample rows and images of run folders named in runs.json, read through
``lcad_bench.evaluation.rundir`` (the owner of the run-folder format).

Paths read from ``samples.parquet`` are relative to the run folder and must stay inside it;
anything else (absolute paths, ``..``) is refused. Images are decoded with Pillow only. A samples
table whose sha256 differs from the one the board recorded is never shown (:func:`load_samples`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lcad_bench.evaluation.rundir import BASE_COLUMN_NAMES, gt_relpath, read_samples, safe_join
from lcad_bench.fileio import file_sha256

MAX_SAMPLES_BYTES = 512 * 1024 * 1024


def gt_path(run_dir: str | Path, image_key: str) -> Path | None:
    """The run's ground-truth PNG of an image."""
    return safe_join(run_dir, gt_relpath(str(image_key)))


STALE = "the board is stale; rerun `lcad-bench summarize`"


@lru_cache(maxsize=256)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    """sha256 of a file, cached by path, modification time and size."""
    return file_sha256(path)


def load_samples(entry: Mapping[str, Any]) -> tuple[pd.DataFrame | None, str | None]:
    """(samples, None) or (None, a warning) for a runs.json entry. The samples table is shown
    only when its sha256 is the one the board recorded (``samples_sha256``: the table the board's
    numbers were computed from); otherwise the warning says the board is stale."""
    run_dir, rel = entry.get("run_dir"), entry.get("samples")
    rid = entry.get("run_id")
    if not run_dir or not rel:
        return (
            None,
            f"{rid}: no samples table (reported numbers or a run without samples.parquet)",
        )
    path = safe_join(run_dir, rel)
    if path is None:
        return None, f"{rid}: samples path {rel!r} leaves the run folder; refused"
    if not path.is_file():
        return None, f"{rid}: {path} is missing; {STALE}"
    want = entry.get("samples_sha256")
    if not isinstance(want, str) or not want:
        return (
            None,
            f"{rid}: the board records no sha256 of {path}, so its samples cannot be checked; {STALE}",
        )
    try:
        st = path.stat()
        if st.st_size > MAX_SAMPLES_BYTES:
            return None, f"{rid}: {path} is too large for the viewer"
        got = _sha256(str(path), st.st_mtime_ns, st.st_size)
        if got != want:
            return None, (f"{rid}: {path} has changed since the board was written (sha256 {got[:12]}…, the board "
                          f"recorded {want[:12]}…): its samples may not match the board's numbers; {STALE}")  # fmt: skip
        df = pd.DataFrame(read_samples(path))
    except Exception as exc:  # noqa: BLE001  (a malformed file is a warning)
        return (
            None,
            f"{rid}: {path} is unreadable ({type(exc).__name__}: {str(exc)[:120]})",
        )
    need = {"pair_id", "level"}
    if not need <= set(df.columns):
        return None, f"{rid}: {path} lacks columns {sorted(need - set(df.columns))}"
    for c in BASE_COLUMN_NAMES - set(df.columns):
        df[c] = None
    return df, None


def metric_columns(df: pd.DataFrame) -> list[str]:
    """Per-sample numeric metric columns."""
    return [
        c for c in df.columns if c not in BASE_COLUMN_NAMES and pd.api.types.is_numeric_dtype(df[c])
    ]


def first_rows(df: pd.DataFrame, pair_id: str) -> pd.DataFrame:
    """One row per level of a pair (the first seed)."""
    f = df[df["pair_id"] == pair_id]
    if "seed" in f.columns:
        f = f.sort_values("seed", kind="stable")
    return f.drop_duplicates("level")


def descriptions(df: pd.DataFrame, pair_id: str) -> pd.DataFrame:
    """The description of a pair at each level, in protocol order."""
    from lcad_bench.protocol import LEVELS

    f = first_rows(df, pair_id)[["level", "description"]]
    order = {lv: i for i, lv in enumerate(LEVELS)}
    f = f.assign(_o=f["level"].map(lambda x: order.get(x, 99))).sort_values("_o").drop(columns="_o")
    return f.reset_index(drop=True)


def sample_row(df: pd.DataFrame, pair_id: str, level: str) -> dict[str, Any] | None:
    f = first_rows(df, pair_id)
    f = f[f["level"] == level]
    return None if f.empty else f.iloc[0].to_dict()


def read_rgb(path: Path | None) -> np.ndarray | None:
    """An RGB uint8 array from a PNG inside a run folder, or None."""
    if path is None or not path.is_file():
        return None
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.format not in {"PNG", "JPEG", "WEBP"}:
                return None
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError):
        return None


def gray_input(gt: np.ndarray) -> np.ndarray:
    """The gray rendering of the ground truth's L* (what the models see)."""
    from lcad_bench.imaging import luminance_and_gray

    _lum, gray = luminance_and_gray(gt)
    g = np.asarray(gray)
    if g.ndim == 2:
        g = np.repeat(g[..., None], 3, axis=2)
    if g.dtype != np.uint8:
        g = np.clip(np.rint(g * 255 if g.max() <= 1.0 else g), 0, 255).astype(np.uint8)
    return g


def cwhr_units(row: Mapping[str, Any]) -> pd.DataFrame:
    """CWHR per phrase/unit of one sample: every ``cwhr*`` column holding a JSON list of objects
    (or a list) is expanded to rows; scalar ``cwhr*`` values are returned as one summary row."""
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    for k, v in row.items():
        if not str(k).startswith("cwhr"):
            continue
        val = v
        if isinstance(v, str):
            try:
                val = json.loads(v)
            except ValueError:
                continue
        if isinstance(val, list):
            for u in val:
                if isinstance(u, dict):
                    rows.append(
                        {
                            "field": k,
                            **{
                                str(a): (json.dumps(b) if isinstance(b, (list, dict)) else b)
                                for a, b in u.items()
                            },
                        }
                    )
        elif isinstance(val, (int, float)) and not isinstance(val, bool):
            summary[k] = val
    if rows:
        return pd.DataFrame(rows)
    if summary:
        return pd.DataFrame([summary])
    return pd.DataFrame()
