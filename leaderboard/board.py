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
from lcad_bench.leaderboard.summarize import COLUMNS, MAX_JSON_BYTES

ENV_VAR = "LCAD_BENCH_LEADERBOARD"


@dataclass
class Board:
    """The tidy table, metric display info, run entries and warnings."""

    path: Path
    frame: pd.DataFrame
    infos: dict[str, ColumnInfo]
    runs: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    summary_warnings: list[str] = field(default_factory=list)

    @property
    def splits(self) -> list[str]:
        return sorted(self.frame["split"].dropna().astype(str).unique().tolist())


def board_path(arg: str | os.PathLike[str] | None = None) -> Path:
    """``arg``, else ``$LCAD_BENCH_LEADERBOARD``, else ``./board``."""
    if arg:
        return Path(arg)
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else Path("board")


def signature(path: Path) -> tuple[Any, ...]:
    """Changes when any board file changes (cache key)."""
    out: list[Any] = [str(path)]
    for name in ("leaderboard.parquet", "metrics.json", "runs.json"):
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
    for c in ("value", "ci_low", "ci_high", "n", "n_failed"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    for c in ("run_id", "model", "split", "scheme", "level", "metric"):
        df[c] = df[c].astype("string")
    bad = df["run_id"].isna() | df["metric"].isna() | df["level"].isna() | df["split"].isna()
    if bad.any():
        warnings.append(
            f"leaderboard.parquet: {int(bad.sum())} rows without run id, split, level or metric were left out"
        )
        df = df[~bad]
    df["reported"] = df["reported"].fillna(False).astype(bool)
    df["rankable"] = df["rankable"].fillna(False).astype(bool)
    return df.reset_index(drop=True)


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
    return Board(p, df, infos, runs, warnings, summary_warnings)
