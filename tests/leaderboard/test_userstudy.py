"""User-study analysis golden values, item draw, hashing and the SQL store."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from lcad_bench.errors import UsageError
from lcad_bench.study.design import GRAY, GT, StudyConfig, StudyItem, draw_items, hash_rater
from lcad_bench.study.stats import analyze, bradley_terry, krippendorff_alpha, wilson_interval
from lcad_bench.study.store import StudyStore, import_likert


def test_wilson_interval_hand_calculation():
    # 8 of 10, z = 1.96: centre = (0.8 + 1.92/10)/(1 + 3.8416/10) = 0.716737,
    # half = 1.96*sqrt(0.8*0.2/10 + 3.8416/400)/1.38416 = 0.226580  ->  [0.490157, 0.943317]
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.490157, abs=2e-5) and hi == pytest.approx(0.943317, abs=2e-5)
    lo, hi = wilson_interval(0, 5)  # k = 0: [0, z^2/(n+z^2)]
    assert lo == 0.0 and hi == pytest.approx(3.8415 / (5 + 3.8415), abs=1e-4)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_bradley_terry_known_solution():
    # strengths 1:2:4; n_ij = p_i + p_j games, i wins p_i of them: observed = expected, so the
    # MLE is exactly (1, 2, 4), i.e. log-strengths (0, ln 2, ln 4) with A fixed at 0.
    comps = (
        [("A", "B")] * 1
        + [("B", "A")] * 2
        + [("A", "C")] * 1
        + [("C", "A")] * 4
        + [("B", "C")] * 2
        + [("C", "B")] * 4
    )
    bt = bradley_terry(comps, ["A", "B", "C"])
    assert bt["A"] == 0.0
    assert bt["B"] == pytest.approx(math.log(2), abs=1e-7) and bt["C"] == pytest.approx(
        math.log(4), abs=1e-7
    )
    two = bradley_terry([("x", "y")] * 3 + [("y", "x")], ["x", "y"])
    assert two["y"] == pytest.approx(-math.log(3), abs=1e-7)


def test_bradley_terry_refuses_disconnected_or_degenerate():
    with pytest.raises(UsageError, match="not connected"):
        bradley_terry([("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")])
    with pytest.raises(UsageError, match="b never beat any other method"):
        bradley_terry([("a", "b"), ("a", "b")])


def test_bradley_terry_needs_a_strongly_connected_beats_graph():
    """Review finding 12: every method wins and loses once and the graph is connected, yet
    {c, d} never beat {a, b}: Hunter (2004), Assumption 1 fails and the MLE does not exist (the
    strengths of a, b diverge). The old check (connected, every method wins and loses) let
    the fit run; it is refused now, naming the group that never beats the others."""
    comps = [("a", "b"), ("b", "a"), ("c", "d"), ("d", "c"), ("a", "c"), ("b", "d")]
    with pytest.raises(UsageError, match=r"c, d never beat any other method: the graph 'i beat j' is not strongly "
                                         r"connected \(Hunter 2004, Assumption 1\)"):  # fmt: skip
        bradley_terry(comps)
    bt = bradley_terry([*comps, ("d", "a")])  # one win of the second group: the MLE exists
    assert bt["a"] == 0.0 and all(math.isfinite(v) for v in bt.values())


def test_krippendorff_alpha_nominal_known_value():
    # perfect agreement -> 1; Krippendorff (2011) style check: two coders, values agree on 3 of 4 units
    assert krippendorff_alpha({"u1": ["a", "a"], "u2": ["b", "b"]}) == 1.0
    alpha = krippendorff_alpha(
        {"u1": ["a", "a"], "u2": ["b", "b"], "u3": ["a", "a"], "u4": ["a", "b"]}
    )
    # coincidences: o_aa=4, o_bb=2, o_ab=o_ba=1; n=8, n_a=5, n_b=3 -> alpha = 1 - (n-1) o_ab*2/(2 n_a n_b) = 1 - 7*2/30
    assert alpha == pytest.approx(1 - 7 * 2 / 30)


def test_hash_rater_is_salted_and_stable():
    h = hash_rater("alice", "salt1")
    assert (
        h == hash_rater(" alice ", "salt1")
        and h != hash_rater("alice", "salt2")
        and "alice" not in h
        and len(h) == 64
    )
    with pytest.raises(UsageError):
        hash_rater("  ", "s")


def _available():
    keys = {(f"p{i}", lv): f"desc {i} {lv}" for i in range(6) for lv in ("complete", "sparse")}
    return {"r1": dict(keys), "r2": dict(keys), "r3": dict(keys)}


def test_draw_items_seeded_stratified_and_logged():
    cfg = StudyConfig(
        "s", ("r1", "r2", "r3"), n_items=6, seed=3, levels=("complete", "sparse"), catch_every=3
    )
    a = draw_items(cfg, _available())
    assert a == draw_items(cfg, _available())
    real = [it for it in a if not it.is_catch]
    assert len(real) == 6 and sum(it.is_catch for it in a) == 2
    assert sorted(it.level for it in real) == ["complete"] * 3 + ["sparse"] * 3
    assert {frozenset(it.shown) for it in real} == {
        frozenset(p) for p in (("r1", "r2"), ("r1", "r3"), ("r2", "r3"))
    }
    assert all(set(it.shown) == {GT, GRAY} for it in a if it.is_catch)
    other = draw_items(
        StudyConfig("s", ("r1", "r2", "r3"), n_items=6, seed=4, levels=("complete", "sparse")),
        _available(),
    )
    assert [it.item_id for it in other] != [it.item_id for it in real]
    with pytest.raises(UsageError):
        StudyConfig("s", ("r1",))


def _fill(store, sid, winners, rater="r"):
    for i, (a, b, win) in enumerate(winners):
        it = StudyItem(f"p{i}|controlled|complete|{a}|{b}", f"p{i}", "complete", "d", (a, b))
        store.record(
            study_id=sid,
            rater_id=rater,
            item=it,
            criterion="correspondence",
            choice=win,
            response_time_ms=100 + i,
        )


def test_store_round_trip_and_analysis(tmp_path):
    store = StudyStore(f"sqlite:///{tmp_path / 'study.db'}")
    cfg = StudyConfig("s1", ("A", "B"))
    salt = store.ensure_study(cfg)
    assert store.ensure_study(cfg) == salt
    with pytest.raises(UsageError, match="another configuration"):
        store.ensure_study(StudyConfig("s1", ("A", "C")))
    _fill(store, "s1", [("A", "B", "A")] * 8 + [("B", "A", "B")] * 2)
    with pytest.raises(UsageError):
        _fill(store, "s1", [("A", "B", "Z")])
    df = store.frame("s1")
    assert len(df) == 10 and df["response_time_ms"].tolist()[:2] == [100, 101]
    assert json.loads(df["shown_methods"][0]) == ["A", "B"]
    res = analyze(df)["s1"]
    pref = {p["method"]: p for p in res["preference"]}
    assert pref["A"]["chosen"] == 8 and pref["A"]["shown"] == 10
    assert pref["A"]["ci_low"] == pytest.approx(0.490157, abs=2e-5)
    assert (
        res["n_judgements"] == 10
        and res["all_methods_shown_together"]
        and res["bradley_terry"] == []
    )


def test_bradley_terry_table_when_methods_not_shown_together(tmp_path):
    store = StudyStore(f"sqlite:///{tmp_path / 'bt.db'}")
    games = (
        [("A", "B", "A")]
        + [("A", "B", "B")] * 2
        + [("A", "C", "A")]
        + [("A", "C", "C")] * 4
        + [("B", "C", "B")] * 2
        + [("B", "C", "C")] * 4
    )
    _fill(store, "bt", games, rater="r1")
    _fill(store, "bt", games, rater="r2")
    res = analyze(store.frame(), b=50)["bt"]
    assert not res["all_methods_shown_together"]
    bt = {r["method"]: r["strength"] for r in res["bradley_terry"]}
    assert bt["A"] == 0.0 and bt["C"] == pytest.approx(math.log(4), abs=1e-6)


def test_catch_trial_exclusion(tmp_path):
    store = StudyStore(f"sqlite:///{tmp_path / 'c.db'}")
    catch = StudyItem("catch|p|controlled|complete", "p", "complete", "d", (GT, GRAY), True)
    for rater, choice in (("good", GT), ("bad", GRAY)):
        store.record(study_id="c", rater_id=rater, item=catch, criterion="realism", choice=choice)
        _fill(store, "c", [("A", "B", "A")], rater=rater)
    res = analyze(store.frame())["c"]
    assert list(res["excluded_raters"]) == ["bad"] and res["n_raters"] == 1


def test_likert_import_and_mos(tmp_path):
    csv = tmp_path / "r.csv"
    rows = [{"rater": f"u{r}", "pair_id": f"p{i}", "level": "complete", "method": m, "score": s}
            for r in range(3) for i in range(4) for m, s in (("A", 4), ("B", 2))]  # fmt: skip
    pd.DataFrame(rows).to_csv(csv, index=False)
    store = StudyStore(f"sqlite:///{tmp_path / 'l.db'}")
    assert import_likert(store, csv, "mos") == 24
    df = store.frame("mos")
    assert not df["rater_id"].str.startswith("u").any()
    res = analyze(df, b=100)["mos"]  # study id "mos"
    mos = {m["method"]: m for m in res["mos"]}
    assert (
        mos["A"]["mos"] == 4.0
        and mos["A"]["ci_low"] == 4.0
        and mos["B"]["ci_high"] == 2.0
        and mos["A"]["n"] == 12
    )
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        [{"rater": "u", "pair_id": "p", "level": "complete", "method": "A", "score": 9}]
    ).to_csv(bad, index=False)
    from lcad_bench.errors import InputFormatError

    with pytest.raises(InputFormatError, match="outside 1-5"):
        import_likert(store, bad, "mos")


def test_by_level_breakdown_win_rates(tmp_path):
    from lcad_bench.study.stats import by_level_table

    store = StudyStore(f"sqlite:///{tmp_path / 'lv.db'}")
    outcomes = {"complete": ["A", "A", "A", "B"], "sparse": ["A", "B"]}
    k = 0
    for lv, wins in outcomes.items():
        for w in wins:
            it = StudyItem(f"p{k}|controlled|{lv}|A|B", f"p{k}", lv, "d", ("A", "B"))
            store.record(study_id="s", rater_id="r", item=it, criterion="realism", choice=w)
            k += 1
    t = by_level_table(store.frame()).set_index(["level", "method"])
    assert (t.loc[("complete", "A"), "chosen"], t.loc[("complete", "A"), "shown"]) == (3, 4)
    assert (
        t.loc[("complete", "A"), "win_rate"] == 0.75
        and t.loc[("complete", "B"), "win_rate"] == 0.25
    )
    lo, hi = wilson_interval(3, 4)
    assert (t.loc[("complete", "A"), "ci_low"], t.loc[("complete", "A"), "ci_high"]) == (lo, hi)
    assert t.loc[("sparse", "A"), "win_rate"] == 0.5
    assert t.loc[("all", "A"), "win_rate"] == pytest.approx(4 / 6)
    assert t["bt"].isna().all()  # two methods, always shown together: Bradley-Terry adds nothing
    assert "by_level" in analyze(store.frame())["s"]


def test_by_level_bradley_terry_matches_the_known_solution(tmp_path):
    """Per level, the same MLE as the pooled fit: strengths 1:2:4 -> log-strengths (0, ln 2, ln 4)."""
    from lcad_bench.study.stats import by_level_table

    store = StudyStore(f"sqlite:///{tmp_path / 'bt.db'}")
    games = ([("A", "B", "A")] + [("A", "B", "B")] * 2 + [("A", "C", "A")] + [("A", "C", "C")] * 4
             + [("B", "C", "B")] * 2 + [("B", "C", "C")] * 4)  # fmt: skip
    _fill(store, "bt", games, rater="r1")
    _fill(store, "bt", games, rater="r2")
    t = by_level_table(store.frame(), b=50).set_index(["level", "method"])
    assert t.loc[("complete", "A"), "bt"] == 0.0
    assert t.loc[("complete", "B"), "bt"] == pytest.approx(math.log(2), abs=1e-6)
    assert t.loc[("complete", "C"), "bt"] == pytest.approx(math.log(4), abs=1e-6)
    assert t.loc[("complete", "C"), "win_rate"] == pytest.approx(
        8 / 11
    )  # won 4 of 5 vs A, 4 of 6 vs B


def test_study_column_facts():
    from lcad_bench.study.stats import study_column

    win = study_column("s1", "realism", "win")
    assert (win.name, win.display_name, win.higher_is_better, win.range) == (
        "study:s1:realism:win", "win rate (s1, realism)", True, (0.0, 1.0))  # fmt: skip
    assert study_column("s1", "realism", "bt").label == "BT score (s1, realism) ↑"
    with pytest.raises(UsageError):
        study_column("s1", "realism", "mos")


def test_draw_items_refuses_runs_that_describe_a_pair_differently():
    """Review finding 5: runs from different splits can share pair ids; the same pair at the
    same level must have the same description in every run of a study."""
    from lcad_bench.errors import InputFormatError

    avail = _available()
    avail["r3"][("p2", "sparse")] = "a blue car"
    with pytest.raises(InputFormatError, match=r"runs r1 and r3 describe pair p2 at level sparse differently "
                                               r"\('desc 2 sparse' vs 'a blue car'\)"):  # fmt: skip
        draw_items(StudyConfig("s", ("r1", "r2", "r3"), levels=("complete", "sparse")), avail)


def test_study_of_runs_on_two_splits_is_left_out_of_the_board(tmp_path, make_run_fn):
    """Review finding 5: a study whose runs are on different split contents gives no board
    columns and a warning (study_cells); study_runs_problem names the splits."""
    from lcad_bench.leaderboard.board import load_board
    from lcad_bench.leaderboard.studies import study_cells, study_runs_problem
    from lcad_bench.leaderboard.summarize import summarize

    root = tmp_path / "runs"
    a = make_run_fn(root, "gray").name
    b = make_run_fn(root, "text-tint", split="tiny-other-content").name
    c = make_run_fn(root, "oracle").name
    summarize([root], tmp_path / "board")
    frame = load_board(tmp_path / "board").frame
    problem = study_runs_problem([a, b], frame)
    assert problem.startswith(
        f"the runs are on different split contents (tiny · aaaaaaaa: {a}; tiny · bbbbbbbb: {b})"
    )
    assert study_runs_problem([a, c], frame) is None
    assert "not reproduced runs of this board" in study_runs_problem([a, "nope"], frame)
    store = StudyStore(f"sqlite:///{tmp_path / 'study.db'}")
    _fill(store, "mixed", [(a, b, a), (a, b, b), (b, a, a)])
    _fill(store, "same", [(a, c, c), (a, c, c), (c, a, a)])
    rows, infos, warnings = study_cells(store.frame(), frame, b=20)
    assert set(rows["metric"]) == {"study:same:correspondence:win"}
    assert warnings == [f"study mixed is left out of the leaderboard: {problem}"]


def test_a_double_click_records_one_response(tmp_path):
    """A rater answers an item once: the second answer to the same item (a double click) is not
    stored, by the check in record() and by the table's unique (study, rater, item) constraint."""
    import sqlalchemy as sa

    store = StudyStore(f"sqlite:///{tmp_path / 'd.db'}")
    it = StudyItem("p0|controlled|complete|A|B", "p0", "complete", "d", ("A", "B"))
    assert (
        store.record(study_id="s", rater_id="r", item=it, criterion="realism", choice="A") is True
    )
    assert (
        store.record(study_id="s", rater_id="r", item=it, criterion="realism", choice="B") is False
    )
    assert (
        store.record(study_id="s", rater_id="r2", item=it, criterion="realism", choice="B") is True
    )
    df = store.frame("s")
    assert len(df) == 2 and df.loc[df["rater_id"] == "r", "choice"].tolist() == ["A"]
    row = df.iloc[0].to_dict() | {"study_id": "s"}
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as con:  # the constraint itself
        con.execute(store.responses.insert().values(**row))
