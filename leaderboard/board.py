"""Read a board folder (written by ``lcad-bench summarize``) defensively.

Missing or malformed files give warnings and an empty or partial board, never an exception:
the app shows the warnings and goes on. Only JSON and Parquet are read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from lcad_bench.leaderboard.columns import ColumnInfo, metric_info, order_metrics
from lcad_bench.leaderboard.summarize import (
    BOARD_FILE,
    COLUMNS,
    MAX_JSON_BYTES,
    METRICS_FILE,
    PAIR_BASE,
    PAIRS_FILE,
    RUNS_FILE,
    run_short_id,
)

ENV_VAR = "LCAD_BENCH_LEADERBOARD"


@dataclass
class Board:
    """The tidy table, the per-pair values, metric display info, run entries and warnings."""

    path: Path
    frame: pd.DataFrame
    infos: dict[str, ColumnInfo]
    runs: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    summary_warnings: list[str] = field(default_factory=list)
    pairs: pd.DataFrame | None = None

    @property
    def splits(self) -> list[str]:
        return sorted(self.frame["split"].dropna().astype(str).unique().tolist())

    @property
    def labels(self) -> dict[str, str]:
        """run id -> display label (model · short run hash); labels are untrusted text."""
        out = {}
        first = self.frame.drop_duplicates("run_id")
        for rid, model in zip(first["run_id"].astype(str), first["model"].astype(str)):
            lab = self.runs.get(rid, {}).get("label")
            out[rid] = (
                str(lab) if isinstance(lab, str) and lab else f"{model} · {run_short_id(rid)}"
            )
        return out

    @property
    def failures(self) -> dict[str, int]:
        """run id -> number of failed samples (from runs.json)."""
        out = {}
        for rid, e in self.runs.items():
            f = e.get("failures")
            n = f.get("count") if isinstance(f, dict) else None
            out[rid] = int(n) if isinstance(n, int) and not isinstance(n, bool) else 0
        return out


def board_path(arg: str | os.PathLike[str] | None = None) -> Path:
    """``arg``, else ``$LCAD_BENCH_LEADERBOARD``, else ``./board``."""
    if arg:
        return Path(arg)
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else Path("board")


def signature(path: Path) -> tuple[Any, ...]:
    """Changes when any board file changes (cache key)."""
    out: list[Any] = [str(path)]
    for name in (BOARD_FILE, PAIRS_FILE, METRICS_FILE, RUNS_FILE):
        p = path / name
        try:
            st = p.stat()
            out.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((name, None))
    return tuple(out)


def _json(path: Path, warnings: list[str]) -> Any:
    if not path.is_file():
        warnings.append(
            f"{path.name} is missing from the board folder {path.parent}; run `lcad-bench summarize RUNS... --out {path.parent}`"
        )
        return None
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ValueError("file too large")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        warnings.append(f"{path.name}: not valid JSON ({str(exc)[:160]}); ignored")
        return None


def _coerce(df: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    missing = [
        c for c in ("run_id", "model", "split", "level", "metric", "value") if c not in df.columns
    ]
    if missing:
        warnings.append(f"leaderboard.parquet lacks columns {missing}; the table is left empty")
        return pd.DataFrame(columns=COLUMNS)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = None
    df = df[COLUMNS].copy()
    for c in ("value", "ci_low", "ci_high", "n", "n_images", "n_failed"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    for c in (
        "run_id",
        "model",
        "split",
        "split_hash",
        "scheme",
        "level",
        "metric",
        "protocol_version",
        "protocol_fp",
    ):
        df[c] = df[c].astype("string")
    df["partial"] = df["partial"].fillna("").astype(str)
    df["oracle"] = df["oracle"].fillna(False).astype(bool)
    bad = df["run_id"].isna() | df["metric"].isna() | df["level"].isna() | df["split"].isna()
    if bad.any():
        warnings.append(
            f"leaderboard.parquet: {int(bad.sum())} rows without run id, split, level or metric were left out"
        )
        df = df[~bad]
    df["split_hash"] = df["split_hash"].where(df["split_hash"].str.len() > 0)
    df["reported"] = df["reported"].fillna(False).astype(bool)
    df["rankable"] = df["rankable"].fillna(False).astype(bool)
    return df.reset_index(drop=True)


def _pairs(path: Path, warnings: list[str]) -> pd.DataFrame | None:
    """pairs.parquet (per-pair values for the paired analysis), or None with a warning."""
    if not path.is_file():
        warnings.append(f"{path.name} is missing from {path.parent} (a board written before paired analysis); "
                        f"rerun `lcad-bench summarize` for paired per-level values; unpaired values are shown")  # fmt: skip
        return None
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001  (any malformed parquet is a warning)
        warnings.append(
            f"{path.name} is unreadable ({type(exc).__name__}: {str(exc)[:160]}); unpaired values are shown"
        )
        return None
    missing = [c for c in PAIR_BASE if c not in df.columns]
    if missing:
        warnings.append(f"{path.name} lacks columns {missing}; unpaired values are shown")
        return None
    for c in ("run_id", "level", "pair_id", "image_key"):
        df[c] = df[c].astype("string")
    for c in df.columns:
        if c not in PAIR_BASE:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def load_board(path: str | os.PathLike[str] | None = None) -> Board:
    """Read a board folder; problems become ``warnings``."""
    p = board_path(path)
    warnings: list[str] = []
    if not p.is_dir():
        warnings.append(
            f"no board folder at {p}; run `lcad-bench summarize RUNS... --out {p}` or set {ENV_VAR}"
        )
        return Board(p, pd.DataFrame(columns=COLUMNS), {}, {}, warnings)
    pq = p / "leaderboard.parquet"
    df = pd.DataFrame(columns=COLUMNS)
    if not pq.is_file():
        warnings.append(
            f"leaderboard.parquet is missing from {p}; run `lcad-bench summarize RUNS... --out {p}`"
        )
    else:
        try:
            df = _coerce(pd.read_parquet(pq), warnings)
        except Exception as exc:  # noqa: BLE001  (any malformed parquet is a warning)
            warnings.append(
                f"leaderboard.parquet is unreadable ({type(exc).__name__}: {str(exc)[:160]}); the table is left empty"
            )
    meta = _json(p / "metrics.json", warnings)
    names = order_metrics(df["metric"].dropna().unique().tolist()) if len(df) else []
    if meta is not None and not isinstance(meta, dict):
        warnings.append("metrics.json is not an object; built-in metric metadata is used")
        meta = None
    infos = {n: metric_info(n, (meta or {}).get(n)) for n in names}
    runs_doc = _json(p / "runs.json", warnings)
    runs: dict[str, dict[str, Any]] = {}
    summary_warnings: list[str] = []
    if isinstance(runs_doc, dict):
        for e in runs_doc.get("runs", []) if isinstance(runs_doc.get("runs"), list) else []:
            if isinstance(e, dict) and isinstance(e.get("run_id"), str):
                runs[e["run_id"]] = e
        sw = runs_doc.get("warnings")
        if isinstance(sw, list):
            summary_warnings = [str(w) for w in sw]
    elif runs_doc is not None:
        warnings.append("runs.json is not an object; run details and samples are unavailable")
    pairs = _pairs(p / PAIRS_FILE, warnings) if len(df) else None
    return Board(p, df, infos, runs, warnings, summary_warnings, pairs)
