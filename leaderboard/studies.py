"""User-study results as board rows: per study, criterion, run and level the win rate (Wilson
95%) and, where defined, the Bradley-Terry score (bootstrap over raters), in the tidy format of
``leaderboard.parquet`` so the main table and the per-level chart show them as columns. Raters
failing the catch trials are left out (``lcad_bench.study.stats``). Display facts come from
``lcad_bench.study.stats.study_column``."""

from __future__ import annotations

import pandas as pd
from lcad_bench.leaderboard.summarize import COLUMNS

from lcad_bench.metrics.base import ColumnInfo
from lcad_bench.study.stats import (
    BT_SCORE,
    WIN_RATE,
    by_level_table,
    catch_exclusions,
    study_column,
)

RUN_FACTS = ["model", "model_version", "split", "split_hash", "luminance_replaced", "oracle", "partial",
             "date", "source", "protocol_version", "protocol_fp", "rankable"]  # fmt: skip


def study_cells(
    responses: pd.DataFrame, board_frame: pd.DataFrame, b: int = 200, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, ColumnInfo]]:
    """(rows with :data:`~lcad_bench.leaderboard.summarize.COLUMNS`, their ColumnInfo by name).
    Methods that are not runs of the board (ground truth and gray in catch trials, runs since
    removed) get no rows."""
    rows: list[dict] = []
    infos: dict[str, ColumnInfo] = {}
    if responses is None or responses.empty or board_frame.empty:
        return pd.DataFrame(columns=COLUMNS), infos
    facts = (
        board_frame[~board_frame["reported"].astype(bool)]
        .drop_duplicates("run_id")
        .set_index("run_id")
    )
    for sid, g in responses.groupby("study_id"):
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
    return pd.DataFrame(rows, columns=COLUMNS), infos
