"""Pure-pandas filtering/pivoting/sorting, metric metadata and charts (no Streamlit)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from lcad_bench.leaderboard.board import load_board
from lcad_bench.leaderboard.charts import degradation_chart, preference_chart
from lcad_bench.leaderboard.columns import column_config, merge_metadata, metric_info
from lcad_bench.leaderboard.tables import (
    best_line,
    degradation,
    degradation_frame,
    filter_board,
    leaderboard,
    wide_table,
)


@pytest.fixture(scope="module")
def board(board_dir):
    return load_board(board_dir)


def test_builtin_directions_and_fallback():
    assert metric_info("psnr").arrow == "↑"
    assert metric_info("lpips").arrow == "↓"
    assert metric_info("lpips_vgg").higher_is_better is False
    assert metric_info("fid").higher_is_better is False
    assert metric_info("cf_pred").higher_is_better is None and metric_info("cf_gt").info_only
    assert metric_info("cf_abs_delta").arrow == "↓"
    assert metric_info("delta_cf").arrow == "↓"
    assert (
        metric_info("cwhr_chromatic").arrow == "↑" and metric_info("cwhr_achromatic").arrow == "↑"
    )
    unknown = metric_info("mystery")
    assert unknown.arrow == "" and unknown.decimals == 3 and unknown.display_name == "mystery"


def test_run_metadata_describes_unknown_columns_and_bad_values_are_ignored():
    meta = {"higher_is_better": False, "display_name": "My PSNR", "decimals": 1, "range": [0, 50]}
    info = metric_info("my_psnr", meta)
    assert (info.label, info.number_format, info.range) == ("My PSNR ↓", "%.1f", (0.0, 50.0))
    # a column the metric catalogue declares keeps the catalogue's facts (one source)
    assert (
        metric_info("psnr", meta) == metric_info("psnr") and metric_info("psnr").label == "PSNR ↑"
    )
    bad = metric_info("my_psnr", {"higher_is_better": "yes", "decimals": "x", "display_name": 3})
    assert bad == metric_info("my_psnr")
    assert metric_info("x", {"lower_is_better": True}).higher_is_better is False


def test_merge_metadata_prefers_runs_with_display_keys():
    infos = merge_metadata(
        ["psnr", "new"],
        [{"psnr": {"backend": "numpy"}}, {"new": {"higher_is_better": True, "decimals": 2}}],
    )
    assert infos["psnr"] == metric_info("psnr")
    assert infos["new"].arrow == "↑" and infos["new"].decimals == 2


def test_column_config_labels_and_formats():
    cfg = column_config(
        ["model", "psnr · complete", "lpips · sparse", "psnr · complete · 95% CI"],
        {"psnr": metric_info("psnr"), "lpips": metric_info("lpips")},
    )
    assert cfg["psnr · complete"]["label"] == "PSNR ↑ · complete"
    assert cfg["psnr · complete"]["type_config"]["format"] == "%.2f"
    assert cfg["lpips · sparse"]["label"] == "LPIPS (AlexNet) ↓ · sparse"
    assert "Lower is better" in cfg["lpips · sparse"]["help"]
    assert cfg["psnr · complete · 95% CI"]["type_config"]["type"] == "text"


def test_filter_board(board):
    df = board.frame
    f = filter_board(df, split="tiny", levels=["sparse"], metrics=["psnr"], models=["gray"])
    assert f["value"].tolist() == [20.0]
    assert set(filter_board(df, source="reported")["model"]) == {"PaperNet"}
    assert "PaperNet" not in set(filter_board(df, source="reproduced")["model"])
    assert "text-tint-limited-run" not in set(
        filter_board(df, include_other_settings=False)["run_id"]
    )
    with pytest.raises(ValueError):
        filter_board(df, source="nope")


def test_wide_table_pivots_metric_by_level(board):
    w = wide_table(
        filter_board(board.frame, split="tiny"),
        ["psnr", "fid"],
        ["complete", "sparse"],
        with_ci=True,
    )
    row = w.set_index("run_id").loc["text-tint-cfg000000000-tinyhash0000"]
    assert row["psnr · complete"] == 25.0 and row["psnr · sparse"] == 21.5
    assert row["fid · sparse"] == 14.0  # distribution metric: 12 + level index 2
    assert row["psnr · complete · 95% CI"] == "[24.75, 25.25]"
    rep = w.set_index("run_id").loc["reported:example-2099-tab1:PaperNet"]
    assert (
        rep["source"] == "reported"
        and rep["psnr · complete"] == 26.5
        and math.isnan(rep["psnr · sparse"])
    )


def test_sort_direction_rank_and_context_rows(board):
    t, by = leaderboard(board.frame, board.infos, split="tiny", level="sparse", sort_metric="lpips")
    assert by == "lpips · sparse"
    assert t["model"].tolist()[:3] == ["oracle", "text-tint", "gray"]  # lower LPIPS first
    assert t["rank"].tolist()[:3] == [1, 2, 3]
    assert (
        pd.isna(t["rank"].iloc[3]) and t["run_id"].iloc[3] == "text-tint-limited-run"
    )  # other settings: not ranked
    t2, by2 = leaderboard(
        board.frame, board.infos, split="tiny", level="complete", sort_metric="psnr"
    )
    assert t2["model"].tolist() == ["oracle", "text-tint", "gray", "text-tint", "PaperNet"]
    assert t2["source"].iloc[-1] == "reported" and pd.isna(t2["rank"].iloc[-1])
    assert (
        best_line(t2, by2, board.infos["psnr"]) == "Top at level complete by PSNR ↑: oracle = 30.00"
    )


def test_info_only_metric_is_not_ranked():
    df = pd.DataFrame({"run_id": ["a", "b"], "model": ["a", "b"], "split": "s", "scheme": "controlled", "level": "complete",
                       "metric": "cf", "value": [1.0, 2.0], "ci_low": None, "ci_high": None, "n": 3, "reported": False,
                       "rankable": True, "luminance_replaced": None, "date": None})  # fmt: skip
    t, by = leaderboard(df, {"cf": metric_info("cf")}, split="s", sort_metric="cf")
    assert by == "cf · complete" and t["rank"].isna().all()  # sorted for display, never ranked


def test_degradation_table_and_chart(board):
    deg = degradation(board.frame, "psnr", split="tiny", models=["oracle", "gray"]).set_index("run")
    assert (
        deg.loc["oracle", "sparse − complete"] == -2.0 and deg.loc["gray", "none − complete"] == 0.0
    )
    frame = degradation_frame(board.frame, "psnr", split="tiny", models=["oracle"])
    assert frame["level"].tolist() == ["complete", "partial", "sparse", "none"]
    spec = degradation_chart(frame, metric_info("psnr")).to_dict()
    assert spec["mark"]["type"] == "line" and spec["mark"]["point"] is True
    assert spec["encoding"]["x"]["sort"] == ["complete", "partial", "sparse", "none"]
    assert spec["encoding"]["y"]["title"] == "PSNR ↑"
    values = next(iter(spec["datasets"].values()))
    assert [v["value"] for v in values] == [30.0, 29.0, 28.0, 27.0]


def test_preference_chart_spec():
    pref = pd.DataFrame(
        {
            "method": ["a", "b"],
            "preference": [0.8, 0.2],
            "ci_low": [0.5, 0.05],
            "ci_high": [0.95, 0.5],
            "shown": [10, 10],
        }
    )
    spec = preference_chart(pref).to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["x"]["scale"]["domain"] == [0, 1]
