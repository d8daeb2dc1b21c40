"""User-study results as board rows: per study, criterion, run and level the win rate (Wilson
95%) and, where defined, the Bradley-Terry score (bootstrap over raters), in the tidy format of
``leaderboard.parquet`` so the main table and the per-level chart show them as columns. Raters
failing the catch trials are left out (``lcad_bench.study.stats``). Display facts come from
``lcad_bench.study.stats.study_column``. A study compares runs of one split content and protocol
(:func:`study_runs_problem`, checked when a study is set up and again here)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from lcad_bench.leaderboard.summarize import COLUMNS, split_label

from lcad_bench.metrics.base import ColumnInfo
from lcad_bench.study.stats import (
    BT_SCORE,
    WIN_RATE,
    by_level_table,
    catch_exclusions,
    shown_methods,
    study_column,
)


def study_runs_problem(run_ids: Sequence[str], board_frame: pd.DataFrame) -> str | None:
    """Why these runs cannot be compared in one study, or None: every run must be a reproduced
    run of the board, all on one split content (hash) and one protocol (fingerprint)."""
    facts = (
        board_frame[~board_frame["reported"].astype(bool)]
        .drop_duplicates("run_id")
        .set_index("run_id")
    )
    missing = [r for r in run_ids if r not in facts.index]
    if missing:
        return f"run(s) {', '.join(missing)} are not reproduced runs of this board"
    for what, key in (("split contents", _split_key), ("protocol settings", _protocol_key)):
        by: dict[str, list[str]] = {}
        for r in run_ids:
            by.setdefault(key(facts.loc[r]), []).append(r)
        if len(by) > 1:
            parts = "; ".join(f"{k}: {', '.join(v)}" for k, v in by.items())
            return (f"the runs are on different {what} ({parts}); a study compares runs of one split and "
                    "protocol: choose runs from one comparison table")  # fmt: skip
    return None


def _split_key(f: pd.Series) -> str:
    h = f.get("split_hash")
    return split_label(f.get("split"), h if isinstance(h, str) and h else None)


def _protocol_key(f: pd.Series) -> str:
    return f"protocol {f.get('protocol_version')} · settings {str(f.get('protocol_fp'))[:8]}"


RUN_FACTS = ["model", "model_version", "split", "split_hash", "luminance_replaced", "oracle", "partial",
             "date", "source", "protocol_version", "protocol_fp", "rankable"]  # fmt: skip


def study_cells(
    responses: pd.DataFrame, board_frame: pd.DataFrame, b: int = 200, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, ColumnInfo], list[str]]:
    """(rows with :data:`~lcad_bench.leaderboard.summarize.COLUMNS`, their ColumnInfo by name,
    warnings). Methods that are not runs of the board (ground truth and gray in catch trials,
    runs since removed) get no rows. A study whose runs are on different splits or protocols
    (:func:`study_runs_problem`) gets no rows and a warning."""
    rows: list[dict] = []
    infos: dict[str, ColumnInfo] = {}
    warnings: list[str] = []
    if responses is None or responses.empty or board_frame.empty:
        return pd.DataFrame(columns=COLUMNS), infos, warnings
    facts = (
        board_frame[~board_frame["reported"].astype(bool)]
        .drop_duplicates("run_id")
        .set_index("run_id")
    )
    for sid, g in responses.groupby("study_id"):
        methods = sorted(
            {m for s in g["shown_methods"] for m in shown_methods(s)} & set(facts.index)
        )
        problem = study_runs_problem(methods, board_frame) if methods else None
        if problem:
            warnings.append(f"study {sid} is left out of the leaderboard: {problem}")
            continue
        excluded = catch_exclusions(g)
        kept = g[~g["rater_id"].isin(excluded)]
        table = by_level_table(kept, b=b, seed=seed)
        for r in table.itertuples():
            if r.level == "all" or str(r.method) not in facts.index:
                continue
            base = {k: facts.loc[str(r.method), k] for k in RUN_FACTS} | {
                "run_id": str(r.method), "scheme": "controlled", "level": str(r.level), "n": int(r.shown),
                "n_images": None, "n_failed": None, "reported": False, "kind": "study",
            }  # fmt: skip
            win = study_column(str(sid), str(r.criterion), WIN_RATE)
            infos[win.name] = win
            rows.append(
                base
                | {
                    "metric": win.name,
                    "value": r.win_rate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                }
            )
            if r.bt is not None and r.bt == r.bt:
                bt = study_column(str(sid), str(r.criterion), BT_SCORE)
                infos[bt.name] = bt
                rows.append(
                    base
                    | {"metric": bt.name, "value": r.bt, "ci_low": r.bt_low, "ci_high": r.bt_high}
                )
    return pd.DataFrame(rows, columns=COLUMNS), infos, warnings
