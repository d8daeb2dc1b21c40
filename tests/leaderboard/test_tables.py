"""Pure-pandas tables of the board: metric metadata, splits by content, comparison groups,
paired per-level values (against hand computations), ranking, charts (no Streamlit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lcad_bench.leaderboard.board import load_board
from lcad_bench.leaderboard.charts import degradation_chart, preference_chart
from lcad_bench.leaderboard.columns import column_config, merge_metadata, metric_info
from lcad_bench.leaderboard.paired import bootstrap_weights, paired_levels
from lcad_bench.leaderboard.summarize import summarize
from lcad_bench.leaderboard.tables import (
    AVG_RANK,
    best_line,
    comparison_groups,
    context_table,
    degradation_frame,
    degradation_table,
    group_table,
    split_choices,
    split_rows,
)

from lcad_bench.evaluation.aggregate import bootstrap_ci

LEVEL_ORDER = ["complete", "partial", "sparse", "none"]


@pytest.fixture(scope="module")
def board(board_dir):
    return load_board(board_dir)


@pytest.fixture(scope="module")
def tiny(board):
    (choice,) = split_choices(board.frame)
    return split_rows(board.frame, choice)


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
        ["run", "psnr · complete", "lpips · sparse − complete", "psnr · complete · 95% CI"],
        {"psnr": metric_info("psnr"), "lpips": metric_info("lpips")},
    )
    assert cfg["psnr · complete"]["label"] == "PSNR ↑ · complete"
    assert cfg["psnr · complete"]["type_config"]["format"] == "%.2f"
    assert cfg["lpips · sparse − complete"]["label"] == "LPIPS (AlexNet) ↓ · Δ sparse − complete"
    assert "Lower is better" in cfg["lpips · sparse − complete"]["help"]
    assert "Paired difference" in cfg["lpips · sparse − complete"]["help"]
    assert cfg["psnr · complete · 95% CI"]["type_config"]["type"] == "text"


def test_splits_are_content_not_names(tmp_path, make_run_fn):
    """Two builds named "tiny" with different content are two splits: never one table."""
    root = tmp_path / "runs"
    make_run_fn(root, "gray")
    make_run_fn(root, "text-tint", split="tiny-other-content")
    s = summarize([root], tmp_path / "board")
    assert s.warnings == []
    b = load_board(tmp_path / "board")
    choices = split_choices(b.frame)
    assert [c.name for c in choices] == ["tiny", "tiny"]
    assert {c.content_hash for c in choices} == {"a" * 64, "b" * 64}
    assert {c.label for c in choices} == {"tiny · aaaaaaaa (1 runs)", "tiny · bbbbbbbb (1 runs)"}
    for c in choices:
        repro, _ = split_rows(b.frame, c)
        models = set(repro["model"])
        assert models == ({"gray"} if c.content_hash == "a" * 64 else {"text-tint"})
        assert all(set(g.run_ids) <= set(repro["run_id"]) for g in comparison_groups(repro))


def test_comparison_groups(tiny, run_ids):
    repro, ctx = tiny
    groups = comparison_groups(repro)
    assert [g.title for g in groups] == [
        "Full runs · model's own L*",
        "Full runs · output L* replaced by the input's",
        "Partial runs (limit 2) · model's own L*",
    ]
    assert groups[0].run_ids == tuple(sorted(run_ids[m] for m in ("gray", "oracle", "text-tint")))
    assert groups[1].run_ids == (run_ids["l-paste"],)
    assert groups[2].run_ids == (run_ids["text-tint@limit2"],) and groups[2].ranked
    assert set(ctx["model"]) == {"PaperNet"}  # reported numbers: context of the split, no group


def test_paired_partial_equals_hand_computation_where_unpaired_differs(board, run_ids):
    """The partial level exists for img000#0 and img001#0 only. Unpaired means average other
    pairs than complete; the paired difference uses the same two pairs at both levels."""
    ids = [run_ids[m] for m in ("gray", "text-tint", "oracle")]
    pr = paired_levels(
        board.pairs, ids, {"psnr": board.infos["psnr"]}, ["complete", "partial", "sparse"]
    )
    got = pr.set_index(["run_id", "level"])
    f = board.frame
    for model, paired_hand, unpaired_hand in (("gray", 0.0, 18.0 - 20.0), ("text-tint", -2.0, 21.0 - 25.0),
                                              ("oracle", -1.0, 27.5 - 30.0)):  # fmt: skip
        r = got.loc[(run_ids[model], "partial")]
        assert r["diff"] == pytest.approx(paired_hand) and r["n_pairs"] == 2 and r["n_images"] == 2
        cells = f[(f["run_id"] == run_ids[model]) & (f["metric"] == "psnr")].set_index("level")[
            "value"
        ]
        assert cells["partial"] - cells["complete"] == pytest.approx(unpaired_hand)
        assert unpaired_hand != pytest.approx(paired_hand)
    # text-tint sparse - complete on all four pairs: (21-24, 22-26, 20-22, 23-28) -> mean -3.5, and its
    # interval is the protocol's image bootstrap of the per-pair differences (evaluation.aggregate)
    r = got.loc[(run_ids["text-tint"], "sparse")]
    lo, hi = bootstrap_ci(
        np.array([-3.0, -4.0, -2.0, -5.0]), np.array(["img000", "img000", "img001", "img002"])
    )
    assert (r["diff"], r["diff_low"], r["diff_high"]) == (
        pytest.approx(-3.5),
        pytest.approx(lo),
        pytest.approx(hi),
    )
    # complete on all pairs: exactly the results.json cell (value and interval) of the run
    for model in ("gray", "text-tint", "oracle"):
        r = got.loc[(run_ids[model], "complete")]
        cell = f[
            (f["run_id"] == run_ids[model]) & (f["metric"] == "psnr") & (f["level"] == "complete")
        ].iloc[0]
        assert (r["value"], r["ci_low"], r["ci_high"]) == (
            pytest.approx(cell["value"]), pytest.approx(cell["ci_low"]), pytest.approx(cell["ci_high"]))  # fmt: skip


def test_paired_derived_delta_cf(board, run_ids):
    """ΔCF = |mean CF(pred) − mean CF(GT)| on the paired pairs: text-tint partial (28, 36) vs GT
    (30, 40) -> 3.0, complete on the same pairs (28, 36) vs (30, 40) -> 3.0: difference 0, while the
    unpaired cells give 3.0 − 2.5."""
    pr = paired_levels(board.pairs, [run_ids["text-tint"]], {"delta_cf": board.infos["delta_cf"]},
                       ["complete", "partial"]).set_index("level")  # fmt: skip
    assert pr.loc["complete", "value"] == pytest.approx(abs(35.0 - 37.5))
    assert pr.loc["partial", "value"] == pytest.approx(3.0) and pr.loc[
        "partial", "diff"
    ] == pytest.approx(0.0)
    f = board.frame
    cells = f[(f["run_id"] == run_ids["text-tint"]) & (f["metric"] == "delta_cf")].set_index(
        "level"
    )["value"]
    assert cells["partial"] - cells["complete"] == pytest.approx(0.5)


def test_failed_sample_drops_the_pair_for_every_run(tmp_path, make_run_fn):
    root = tmp_path / "runs"
    make_run_fn(root, "gray")
    make_run_fn(root, "text-tint", fail={("img002#0", "sparse")})
    s = summarize([root], tmp_path / "board")
    b = load_board(tmp_path / "board")
    ids = sorted(b.runs)
    pr = paired_levels(b.pairs, ids, {"psnr": b.infos["psnr"]}, ["complete", "sparse"]).set_index(
        ["run_id", "level"]
    )
    gray = next(r for r in ids if r.startswith("gray"))
    assert (
        pr.loc[(gray, "sparse"), "n_pairs"] == 3
    )  # img002#0 failed for text-tint: left out for gray too
    assert pr.loc[(gray, "complete"), "n_pairs"] == 4
    tint = next(e for e in s.runs if e["model"] == "text-tint")
    assert tint["failures"]["count"] == 1 and tint["failures"]["listed"][0]["pair_id"] == "img002#0"
    assert b.failures[tint["run_id"]] == 1


def test_bootstrap_weights_are_the_protocol_draws():
    w = bootstrap_weights(3)
    idx = np.random.default_rng(12345).integers(0, 3, size=(1000, 3))
    assert w.shape == (1000, 3) and (w.sum(axis=1) == 3).all()
    assert (w[:, 1] == (idx == 1).sum(axis=1)).all()


def _table(board, tiny, ids, **kw):
    repro, _ = tiny
    kw.setdefault("metrics", ["psnr", "lpips", "delta_cf", "cwhr_chromatic", "fid"])
    kw.setdefault("levels", ["complete"])
    return group_table(repro, board.pairs, board.infos, ids, labels=board.labels, **kw)


def test_default_ranking_average_rank_and_oracle_not_first(board, tiny, run_ids):
    ids = [run_ids[m] for m in ("gray", "oracle", "text-tint")]
    t = _table(board, tiny, ids)
    f = t.frame
    assert t.sort_column == AVG_RANK
    assert f["run_id"].tolist() == [run_ids["text-tint"], run_ids["gray"], run_ids["oracle"]]
    assert f["rank"].tolist()[:2] == [1, 2] and pd.isna(f["rank"].iloc[2])
    # text-tint beats gray on all five headline columns; the oracle is shown, labelled, unranked
    assert (
        f[AVG_RANK].tolist()[:2] == [1.0, 2.0]
        and pd.isna(f[AVG_RANK].iloc[2])
        and f["oracle"].tolist() == [False, False, True]
    )
    assert (
        f.loc[2, "psnr · complete"] == 30.0
    )  # it has the best PSNR, and still is not ranked first
    assert (
        best_line(t, board.infos)
        == "Best average rank: text-tint · " + run_ids["text-tint"].split("-")[-1][:7] + " (1.00)"
    )
    # asked to rank it: oracle ranks (1 + 1 + 2 + 1 + 1) / 5 = 1.2, text-tint (2 + 2 + 1 + 2 + 2) / 5 = 1.8
    t2 = _table(board, tiny, ids, rank_oracle=True).frame.set_index("run_id")
    assert (
        t2.loc[run_ids["oracle"], AVG_RANK] == pytest.approx(1.2)
        and t2.loc[run_ids["oracle"], "rank"] == 1
    )
    assert t2.loc[run_ids["text-tint"], AVG_RANK] == pytest.approx(1.8)


def test_sort_by_any_metric_in_its_direction(board, tiny, run_ids):
    ids = [run_ids[m] for m in ("gray", "oracle", "text-tint")]
    t = _table(board, tiny, ids, sort_by="lpips · complete", rank_oracle=True)
    assert t.frame["lpips · complete"].tolist() == [0.10, 0.20, 0.30] and t.frame[
        "rank"
    ].tolist() == [1, 2, 3]
    t = _table(board, tiny, ids, sort_by="psnr · complete")
    assert t.frame["psnr · complete"].tolist() == [25.0, 20.0, 30.0]  # oracle last: not ranked
    assert best_line(t, board.infos).startswith("Top by PSNR ↑ · complete: text-tint")
    info_only = _table(board, tiny, ids, metrics=["cf_pred"], sort_by="cf_pred · complete")
    assert (
        info_only.frame["rank"].isna().all() and info_only.frame[AVG_RANK].isna().all()
    )  # shown, never ranked


def test_paired_table_columns_and_unpaired_switch(board, tiny, run_ids):
    ids = [run_ids[m] for m in ("gray", "oracle", "text-tint")]
    t = _table(
        board, tiny, ids, metrics=["psnr", "fid"], levels=["complete", "partial"], with_ci=True
    )
    f = t.frame.set_index("run_id")
    assert t.value_columns == [
        "psnr · complete",
        "psnr · partial − complete",
        "fid · complete",
        "fid · partial",
    ]
    assert f.loc[run_ids["gray"], "psnr · partial − complete"] == 0.0
    assert f.loc[run_ids["text-tint"], "psnr · partial − complete"] == -2.0
    assert f.loc[run_ids["text-tint"], "psnr · partial − complete · 95% CI"] == "[-2.00, -2.00]"
    assert t.notes[0] == (
        "Pairs compared (PSNR): complete: 4 pairs (3 images); partial − complete: 2 pairs (2 images)"
    )
    assert any(
        "Not paired" in n and "FID" in n for n in t.notes
    )  # a distribution metric has no per-pair values
    u = _table(
        board, tiny, ids, metrics=["psnr"], levels=["complete", "partial"], paired=False
    ).frame.set_index("run_id")
    assert (
        u.loc[run_ids["gray"], "psnr · partial"] == 18.0
        and u.loc[run_ids["gray"], "psnr · complete"] == 20.0
    )


def test_limit_run_and_full_run_are_ranked_apart(board, tiny, run_ids):
    repro, _ = tiny
    groups = comparison_groups(repro)
    full = _table(board, tiny, list(groups[0].run_ids)).frame
    part = _table(board, tiny, list(groups[2].run_ids)).frame
    assert run_ids["text-tint"] in set(full["run_id"]) and run_ids["text-tint@limit2"] not in set(
        full["run_id"]
    )
    assert part["run_id"].tolist() == [run_ids["text-tint@limit2"]] and part["rank"].tolist() == [1]
    assert part["psnr · complete"].tolist() == [25.5]  # (24.5 + 26.5) / 2 on its two pairs


def test_context_table_reported_rows(board, tiny):
    _, ctx = tiny
    t = context_table(ctx, board.runs, ["psnr", "lpips"], ["complete"])
    assert t["model"].tolist() == ["PaperNet"] and t["psnr · reported"].tolist() == [26.5]
    assert "Table 1" in t["citation"].iloc[0] and t["status"].tolist() == ["second-hand"]


def test_out_of_range_value_is_left_out_with_a_warning(tmp_path, make_run_fn):
    """A hit rate of 1.4 cannot be right: it is never shown, and summarize says why."""
    values = {"psnr": {lv: [20.0] * (2 if lv == "partial" else 4) for lv in ("complete", "partial", "sparse", "none")},
              "cwhr_chromatic": {"complete": [1.4] * 4, "partial": [0.5, 0.5], "sparse": [0.5] * 4, "none": None}}  # fmt: skip
    make_run_fn(tmp_path / "runs", "gray", values=values)
    s = summarize([tmp_path / "runs"], tmp_path / "board")
    assert any(
        "cwhr_chromatic = 1.4 at level complete is outside its range [0.0, 1.0]; left out" in w
        for w in s.warnings
    )
    assert any("4 per-sample cwhr_chromatic values lie outside its range" in w for w in s.warnings)
    f = s.frame
    cell = f[(f["metric"] == "cwhr_chromatic") & (f["level"] == "complete")].iloc[0]
    assert pd.isna(cell["value"]) and pd.isna(cell["ci_high"])
    assert f[(f["metric"] == "cwhr_chromatic") & (f["level"] == "partial")]["value"].tolist() == [
        0.5
    ]
    pairs = s.pair_frame
    assert pairs.loc[pairs["level"] == "complete", "cwhr_chromatic"].isna().all()


def test_degradation_frame_chart_and_table(board, tiny, run_ids):
    repro, _ = tiny
    ids = [run_ids["gray"], run_ids["text-tint"]]
    f = degradation_frame(repro, board.pairs, board.infos["psnr"], ids, labels=board.labels)
    tint = f[f["run_id"] == run_ids["text-tint"]].set_index("level")
    assert tint["value"].to_dict() == {
        "complete": 0.0,
        "partial": -2.0,
        "sparse": -3.5,
        "none": -4.0,
    }
    assert tint["n_pairs"].to_dict() == {"complete": 4, "partial": 2, "sparse": 4, "none": 4}
    spec = degradation_chart(f, board.infos["psnr"]).to_dict()
    marks = [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        for layer in spec["layer"]
    ]
    assert marks == ["rule", "rule", "line"]  # zero line, 95% intervals, lines with points
    assert spec["layer"][2]["encoding"]["x"]["sort"] == [
        "complete · n=4",
        "partial · n=2",
        "sparse · n=4",
        "none · n=4",
    ]
    assert spec["layer"][2]["encoding"]["y"]["title"] == "Δ PSNR ↑ vs complete (paired)"
    tab = degradation_table(f, board.infos["psnr"], paired=True).set_index("run")
    assert tab.loc[board.labels[run_ids["text-tint"]], "complete (n=4)"] == 25.0
    assert tab.loc[board.labels[run_ids["gray"]], "partial − complete (n=2)"] == 0.0
    u = degradation_frame(
        repro, board.pairs, board.infos["psnr"], ids, paired=False, labels=board.labels
    )
    g = u[u["run_id"] == run_ids["gray"]].set_index("level")
    assert g["value"].to_dict() == {"complete": 20.0, "partial": 18.0, "sparse": 20.0, "none": 20.0}
    assert g["n_pairs"].to_dict() == {"complete": 4, "partial": 2, "sparse": 4, "none": 4}


def test_preference_chart_spec():
    by = pd.DataFrame({"method": ["a", "b", "a", "b"], "level": ["complete", "complete", "all", "all"],
                       "win_rate": [0.8, 0.2, 0.7, 0.3], "ci_low": [0.5, 0.05, 0.4, 0.1], "ci_high": [0.95, 0.5, 0.9, 0.6],
                       "shown": [10, 10, 20, 20]})  # fmt: skip
    spec = preference_chart(by).to_dict()
    bars = spec["layer"][0]
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["x"]["scale"]["domain"] == [0, 1]
    assert bars["encoding"]["y"]["sort"] == ["a · complete", "a · all", "b · complete", "b · all"]
    assert (
        spec["layer"][1]["mark"]["type"] == "rule" and spec["height"] == 160
    )  # at least 160 px, 26 a bar


# ------------------------------------------------------------------------------------------
# ranking rules on hand-made groups (review findings)


def _cells(values, kinds=None, ns=None):
    """Board cells of full runs at the current protocol: ``values[run][metric][level] = mean``;
    ``kinds[metric]`` (default per_pair) and ``ns[run][metric]`` (default 3) as summarize writes."""
    from lcad_bench.leaderboard.summarize import COLUMNS

    from lcad_bench.protocol import PROTOCOL_VERSION

    rows = []
    for run, per in values.items():
        for metric, lv in per.items():
            for level, v in lv.items():
                n = (ns or {}).get(run, {}).get(metric, 3)
                rows.append({"run_id": run, "model": run, "split": "s", "split_hash": "a" * 64, "scheme": "controlled",
                             "level": level, "metric": metric, "value": v, "ci_low": v, "ci_high": v, "n": n,
                             "reported": False, "oracle": False, "partial": "", "luminance_replaced": False,
                             "protocol_version": PROTOCOL_VERSION, "protocol_fp": "f" * 12, "rankable": True,
                             "kind": (kinds or {}).get(metric, "per_pair")})  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def _pairs(values):
    """pairs.parquet rows: every pair (3 pairs on 3 images) has the cell's value."""
    rows = []
    for run, per in values.items():
        levels = {lv for lvs in per.values() for lv in lvs}
        for level in levels:
            for i in range(3):
                row = {"run_id": run, "level": level, "pair_id": f"p{i}", "image_key": f"img{i}", "n_seeds": 1,
                       "n_failed": 0}  # fmt: skip
                for metric, lv in per.items():
                    row[metric] = lv.get(level, float("nan"))
                rows.append(row)
    return pd.DataFrame(rows)


INFOS = {m: metric_info(m) for m in ("psnr", "lpips", "fid")}


def test_a_difference_to_complete_is_never_ranked_nor_bold():
    """Review finding 1: A degrades 20/19/18/17, B (ignores the text) is 16 everywhere. Ranking
    the Δ columns made B (Δ 0) first; only the value at complete is ranked."""
    from lcad_bench.leaderboard import export

    vals = {"A": {"psnr": dict(zip(LEVEL_ORDER, (20.0, 19.0, 18.0, 17.0)))},
            "B": {"psnr": dict.fromkeys(LEVEL_ORDER, 16.0)}}  # fmt: skip
    t = group_table(
        _cells(vals), _pairs(vals), INFOS, ["A", "B"], metrics=["psnr"], levels=LEVEL_ORDER
    )
    f = t.frame.set_index("run_id")
    assert (
        f.loc["B", "psnr · sparse − complete"] == 0.0
        and f.loc["A", "psnr · sparse − complete"] == -2.0
    )
    assert f.loc["A", "rank"] == 1 and f.loc["B", "rank"] == 2
    assert f.loc["A", AVG_RANK] == 1.0 and f.loc["B", AVG_RANK] == 2.0
    assert any("Δ columns (level − complete) are shown, never ranked" in n for n in t.notes)
    assert "Average rank over 1 ranked columns (1 = best in each)." in t.notes
    # sorting by a Δ column orders the table but gives no rank
    by_diff = group_table(_cells(vals), _pairs(vals), INFOS, ["A", "B"], metrics=["psnr"], levels=LEVEL_ORDER,
                          sort_by="psnr · none − complete")  # fmt: skip
    assert by_diff.frame["run_id"].tolist() == ["B", "A"] and by_diff.frame["rank"].isna().all()
    assert best_line(by_diff, INFOS).startswith("Sorted by PSNR ↑ · Δ none − complete, not ranked")
    # exports mark no best value in a Δ column
    md = export.to_markdown(t.frame, t.value_columns, INFOS).splitlines()
    a_row = next(line for line in md if line.startswith("| 1 | A"))
    b_row = next(line for line in md if line.startswith("| 2 | B"))
    assert "**20.00**" in a_row and "**" not in b_row


def test_a_missing_metric_never_improves_the_average_rank():
    """Review finding 2: A has only PSNR (the best), B wins LPIPS and FID. With missing ranks
    skipped A's average rank was 1.0 and it ranked first; now only runs with every ranked
    column get an average rank, A is shown unranked and named in a note."""
    vals = {"A": {"psnr": {"complete": 30.0}},
            "B": {"psnr": {"complete": 25.0}, "lpips": {"complete": 0.1}, "fid": {"complete": 10.0}},
            "C": {"psnr": {"complete": 20.0}, "lpips": {"complete": 0.2}, "fid": {"complete": 20.0}}}  # fmt: skip
    t = group_table(_cells(vals, kinds={"fid": "distribution"}), None, INFOS, ["A", "B", "C"],
                    metrics=["psnr", "lpips", "fid"], levels=["complete"], paired=False)  # fmt: skip
    f = t.frame
    assert f["run_id"].tolist() == ["B", "C", "A"]
    assert f["rank"].tolist()[:2] == [1, 2] and pd.isna(f["rank"].iloc[2])
    assert f[AVG_RANK].tolist()[:2] == [1.0, 2.0] and pd.isna(f[AVG_RANK].iloc[2])
    assert (
        "No average rank (a ranked column has no value): A; sort by a column to rank them on it."
        in t.notes
    )
    by_psnr = group_table(_cells(vals, kinds={"fid": "distribution"}), None, INFOS, ["A", "B", "C"],
                          metrics=["psnr", "lpips", "fid"], levels=["complete"], paired=False,
                          sort_by="psnr · complete").frame  # fmt: skip
    assert by_psnr["run_id"].tolist() == ["A", "B", "C"] and by_psnr["rank"].tolist() == [1, 2, 3]


def test_fid_at_different_sample_counts_is_shown_not_ranked():
    """Review finding 13: docs/protocol.md#fid compares FID only at equal N. Within a group
    whose runs differ in FID's sample count the FID column is shown, never ranked or bold, and
    the note says why; at equal N it is ranked as before."""
    from lcad_bench.leaderboard import export

    vals = {"B": {"psnr": {"complete": 20.0}, "fid": {"complete": 10.0}},
            "C": {"psnr": {"complete": 25.0}, "fid": {"complete": 20.0}}}  # fmt: skip
    kinds = {"fid": "distribution"}
    t = group_table(_cells(vals, kinds, ns={"B": {"fid": 4}, "C": {"fid": 8}}), None, INFOS, ["B", "C"],
                    metrics=["psnr", "fid"], levels=["complete"], paired=False)  # fmt: skip
    assert t.frame["run_id"].tolist() == ["C", "B"] and t.frame[AVG_RANK].tolist() == [1.0, 2.0]
    assert "Average rank over 1 ranked columns (1 = best in each)." in t.notes
    assert "FID ↓ · complete is shown, not ranked: its runs differ in sample count (N = 4/8); it is comparable only " \
           "at equal N (docs/protocol.md#fid)." in t.notes  # fmt: skip
    assert set(t.unranked) == {"fid · complete"}
    by_fid = group_table(_cells(vals, kinds, ns={"B": {"fid": 4}, "C": {"fid": 8}}), None, INFOS, ["B", "C"],
                         metrics=["psnr", "fid"], levels=["complete"], paired=False, sort_by="fid · complete")  # fmt: skip
    assert by_fid.frame["run_id"].tolist() == ["B", "C"] and by_fid.frame["rank"].isna().all()
    md = export.to_markdown(t.frame, t.value_columns, INFOS, unranked=t.unranked)
    assert "**10.00**" not in md and "**25.00**" in md
    same = group_table(_cells(vals, kinds, ns={"B": {"fid": 4}, "C": {"fid": 4}}), None, INFOS, ["B", "C"],
                       metrics=["psnr", "fid"], levels=["complete"], paired=False)  # fmt: skip
    assert not same.unranked and same.frame[AVG_RANK].tolist() == [1.5, 1.5]


def test_a_run_without_a_metric_does_not_blank_the_paired_column(
    tmp_path, make_run_fn, fixture_values
):
    """Review finding 3: text-tint has no LPIPS at all. The paired pair set was the intersection
    over every run, so it was empty and LPIPS read "—" for gray too; now it is built from the
    runs that have the metric, and the run without it is "—" with a note."""
    root = tmp_path / "runs"
    make_run_fn(root, "gray")
    make_run_fn(
        root,
        "text-tint",
        values={m: v for m, v in fixture_values["text-tint"].items() if m != "lpips"},
    )
    assert summarize([root], tmp_path / "board").warnings == []
    b = load_board(tmp_path / "board")
    ids = sorted(b.runs)
    gray, tint = (next(r for r in ids if r.startswith(m)) for m in ("gray", "text-tint"))
    t = group_table(b.frame, b.pairs, b.infos, ids, metrics=["psnr", "lpips"], levels=["complete", "sparse"],
                    labels=b.labels)  # fmt: skip
    f = t.frame.set_index("run_id")
    assert f.loc[gray, "lpips · complete"] == pytest.approx(0.30)
    assert f.loc[gray, "lpips · sparse − complete"] == pytest.approx(0.0)
    assert pd.isna(f.loc[tint, "lpips · complete"]) and f.loc[tint, "psnr · complete"] == 25.0
    assert any(n.startswith(f"No value (—) for {b.labels[tint]} in LPIPS (AlexNet) ↓ · complete, "
                            "LPIPS (AlexNet) ↓ · Δ sparse − complete") for n in t.notes)  # fmt: skip
    assert "Pairs compared (PSNR, LPIPS (AlexNet)): complete: 4 pairs (3 images); sparse − complete: 4 pairs " \
           "(3 images)" in t.notes  # fmt: skip


def test_split_labels_have_one_owner(board):
    """summarize.split_label names a split in runs.json (reproduced and reported runs) and in the
    split selector; a reported file without a content hash no longer reads "tiny · ?"."""
    from lcad_bench.leaderboard.summarize import split_label

    rep = next(e for e in board.runs.values() if e["reported"])
    assert rep["split_label"] == split_label("tiny", None) == "tiny · no content hash"
    run = next(e for e in board.runs.values() if not e["reported"])
    assert run["split_label"] == split_label("tiny", "a" * 64) == "tiny · aaaaaaaa"
    assert [c.label for c in split_choices(board.frame)] == ["tiny · aaaaaaaa (5 runs)"]
