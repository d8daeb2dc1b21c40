"""Every page of the Streamlit app through AppTest, on the fixture board (values asserted)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

TIMEOUT = 60
LEVEL_ORDER = ["complete", "partial", "sparse", "none"]


@pytest.fixture
def at(monkeypatch, board_dir, app_path, tmp_path):
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(board_dir))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    app = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    assert not app.exception
    return app


def frames(at, column):
    """The page's dataframes that have ``column``."""
    return [d.value for d in at.dataframe if column in d.value.columns]


def short(run_id: str) -> str:
    return run_id.rsplit("-", 1)[-1][:7]


def test_default_view(at, run_ids, plain):
    """Headline columns at complete, ranked by average rank within each comparison group; the
    oracle is labelled and not ranked; the --limit run is ranked apart; reported rows are context."""
    subheads = [plain(h.value) for h in at.subheader]
    assert subheads[:3] == ["Full runs · model's own L*", "Full runs · output L* replaced by the input's",
                            "Partial runs (limit 2) · model's own L*"]  # fmt: skip
    main, lum, part = frames(at, "rank")[:3]
    assert [c for c in main.columns if "·" in c] == [
        "psnr · complete",
        "lpips · complete",
        "delta_cf · complete",
        "cwhr_chromatic · complete",
        "fid · complete",
    ]  # fmt: skip  (the headline set of the metric catalogue present in the runs)
    assert main["run"].tolist() == [f"text-tint · {short(run_ids['text-tint'])}", f"gray · {short(run_ids['gray'])}",
                                    f"oracle · {short(run_ids['oracle'])} (oracle / upper bound)"]  # fmt: skip
    assert main["rank"].tolist()[:2] == [1, 2] and pd.isna(main["rank"].iloc[2])
    assert main["avg rank"].tolist()[:2] == [1.0, 2.0]
    assert main["psnr · complete"].tolist() == [25.0, 20.0, 30.0] and main[
        "fid · complete"
    ].tolist() == [12.0, 30.0, 1.5]
    assert main["delta_cf · complete"].tolist() == [2.5, 37.5, 10.0]
    # the --limit run and the full run of text-tint: both shown, each ranked in its own group
    assert lum["run_id"].tolist() == [run_ids["l-paste"]] and lum["rank"].tolist() == [1]
    assert part["run_id"].tolist() == [run_ids["text-tint@limit2"]] and part["rank"].tolist() == [1]
    assert run_ids["text-tint@limit2"] not in main["run_id"].tolist()
    assert (
        plain(at.markdown[0].value)
        == f"Best average rank: text-tint · {short(run_ids['text-tint'])} (1.00)"
    )
    (ctx,) = frames(at, "citation")
    assert ctx["model"].tolist() == ["PaperNet"] and ctx["psnr · reported"].tolist() == [26.5]
    assert not frames(at, "model") or "PaperNet" not in set(main["run"])
    cap = [plain(c.value) for c in at.caption]
    assert (
        "Pairs compared (PSNR, LPIPS (AlexNet), ΔCF, CWHR chromatic): complete: 4 pairs (3 images)"
        in cap[1]
    )
    assert any("Partial runs" not in c and "matched by name" in c for c in cap)


def test_levels_paired_by_default_and_unpaired_switch(at, run_ids):
    """The partial column is the paired difference to complete (hand computation: gray 0,
    text-tint −2) while the unpaired means differ (gray 18 − 20, text-tint 21 − 25)."""
    at.sidebar.multiselect(key="lb_levels").set_value(["complete", "partial"]).run()
    main = frames(at, "rank")[0].set_index("run_id")
    assert main.loc[run_ids["gray"], "psnr · partial − complete"] == 0.0
    assert main.loc[run_ids["text-tint"], "psnr · partial − complete"] == -2.0
    assert main.loc[run_ids["oracle"], "psnr · partial − complete"] == -1.0
    at.sidebar.radio(key="lb_values").set_value("unpaired").run()
    main = frames(at, "rank")[0].set_index("run_id")
    assert (
        main.loc[run_ids["gray"], "psnr · partial"] == 18.0
        and main.loc[run_ids["gray"], "psnr · complete"] == 20.0
    )
    assert main.loc[run_ids["text-tint"], "psnr · partial"] == 21.0


def test_sort_diagnostics_ci_and_oracle_ranking(at, run_ids):
    at.selectbox(key="lb_sort").set_value("lpips · complete").run()
    main = frames(at, "rank")[0]
    assert main["lpips · complete"].tolist() == [0.2, 0.3, 0.1] and main["rank"].tolist()[:2] == [
        1,
        2,
    ]
    at.sidebar.checkbox(key="lb_rank_oracle").check().run()
    main = frames(at, "rank")[0]
    assert main["lpips · complete"].tolist() == [0.1, 0.2, 0.3] and main["rank"].tolist() == [
        1,
        2,
        3,
    ]
    at.sidebar.checkbox(key="lb_ci").check().run()
    main = frames(at, "rank")[0]
    assert main["lpips · complete · 95% CI"].tolist()[0] == "[0.1000, 0.1000]"
    at.radio(key="lb_view").set_value("diagnostics").run()
    main = frames(at, "rank")[0]
    assert [c for c in main.columns if "·" in c and "CI" not in c] == [
        "cf_pred · complete",
        "cf_gt · complete",
    ]
    assert main["rank"].isna().all()  # information-only columns: shown, never ranked
    at.sidebar.multiselect(key="lb_models").set_value(["gray"]).run()
    assert [f["run_id"].tolist() for f in frames(at, "rank")] == [[run_ids["gray"]]]
    at.sidebar.multiselect(key="lb_models").set_value([]).run()
    at.sidebar.checkbox(key="lb_other").uncheck().run()
    assert run_ids["text-tint@limit2"] not in {r for f in frames(at, "rank") for r in f["run_id"]}


def test_shared_url_reproduces_the_view(monkeypatch, board_dir, app_path, tmp_path, run_ids):
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(board_dir))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    at.sidebar.multiselect(key="lb_levels").set_value(["complete", "sparse"]).run()
    at.selectbox(key="lb_sort").set_value("psnr · sparse − complete").run()
    at.sidebar.checkbox(key="lb_ci").check().run()
    params = {k: at.query_params[k] for k in at.query_params}
    assert params == {
        "level": ["complete", "sparse"],
        "sort": "psnr · sparse − complete",
        "ci": "1",
    }
    first = frames(at, "rank")[0]
    fresh = AppTest.from_file(app_path, default_timeout=TIMEOUT)
    for k, v in params.items():
        fresh.query_params[k] = v
    fresh.run()
    assert not fresh.exception
    again = frames(fresh, "rank")[0]
    pd.testing.assert_frame_equal(first, again)
    assert again["run_id"].tolist()[:2] == [
        run_ids["gray"],
        run_ids["text-tint"],
    ]  # 0.0 > −3.5: sorted by the Δ
    # a URL is untrusted input: values that are not options are ignored
    bad = AppTest.from_file(app_path, default_timeout=TIMEOUT)
    bad.query_params["level"] = ["complete", "<script>"]
    bad.query_params["split"] = "nonsense"
    bad.run()
    assert not bad.exception and bad.sidebar.multiselect(key="lb_levels").value == ["complete"]


def test_same_name_splits_with_different_content_never_share_a_table(
    monkeypatch, make_run_fn, app_path, tmp_path
):
    from lcad_bench.leaderboard.summarize import summarize

    root = tmp_path / "runs"
    make_run_fn(root, "gray")
    make_run_fn(root, "oracle")
    make_run_fn(root, "text-tint", split="tiny-other-content")
    summarize([root], tmp_path / "board")
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "board"))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    sel = at.sidebar.selectbox(key="lb_split")
    assert sel.options == ["tiny · aaaaaaaa (2 runs)", "tiny · bbbbbbbb (1 runs)"]
    models = {r.split(" · ")[0] for f in frames(at, "rank") for r in f["run"]}
    assert models == {"gray", "oracle"}
    sel.set_value("b" * 64).run()
    assert {r.split(" · ")[0] for f in frames(at, "rank") for r in f["run"]} == {"text-tint"}
    at.switch_page("app_pages/levels.py").run()
    assert at.sidebar.selectbox(key="ch_split").options == [
        "tiny · aaaaaaaa (2 runs)",
        "tiny · bbbbbbbb (1 runs)",
    ]


def test_levels_page_paired_chart_and_table(at, run_ids, plain):
    at.switch_page("app_pages/levels.py").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="ch_metric").value == "psnr"  # the first headline metric
    tab = frames(at, "complete (n=4)")[0].set_index("run")
    tint, gray = f"text-tint · {short(run_ids['text-tint'])}", f"gray · {short(run_ids['gray'])}"
    assert tab.loc[tint, "complete (n=4)"] == 25.0
    assert (
        tab.loc[tint, "partial − complete (n=2)"] == -2.0
        and tab.loc[gray, "partial − complete (n=2)"] == 0.0
    )
    assert (
        tab.loc[tint, "sparse − complete (n=4)"] == -3.5
        and tab.loc[tint, "none − complete (n=4)"] == -4.0
    )
    assert len(at.get("vega_lite_chart")) == 1
    assert plain(at.subheader[0].value) == "PSNR ↑: paired difference to complete"
    at.sidebar.radio(key="ch_values").set_value("unpaired").run()
    tab = frames(at, "partial (n=2)")[0].set_index("run")
    assert tab.loc[gray, "partial (n=2)"] == 18.0 and tab.loc[gray, "complete (n=4)"] == 20.0
    at.sidebar.multiselect(key="ch_runs").set_value([run_ids["gray"]]).run()
    assert frames(at, "partial (n=2)")[0]["run"].tolist() == [gray]
    groups = at.sidebar.selectbox(key="ch_group")
    assert groups.options == [
        "All full runs (own and replaced L*)",
        "Full runs · model's own L*",
        "Full runs · output L* replaced by the input's",
        "Partial runs (limit 2) · model's own L*",
    ]
    assert (
        f"l-paste · {short(run_ids['l-paste'])} (L* replaced)" in tab.index
    )  # both L* groups by default
    at.sidebar.radio(key="ch_values").set_value("paired")
    at.sidebar.selectbox(key="ch_metric").set_value("fid").run()
    assert (
        not at.exception and len(at.get("vega_lite_chart")) == 1
    )  # FID: shown unpaired, with a note
    assert any("no per-pair values" in plain(i.value) for i in at.info)


def test_sample_viewer_starts_full_and_survives_a_split_change(
    monkeypatch, make_run_fn, app_path, tmp_path, plain
):
    from lcad_bench.leaderboard.summarize import summarize

    root = tmp_path / "runs"
    for m in ("gray", "oracle", "text-tint"):
        make_run_fn(root, m)
    make_run_fn(root, "gray", split="tiny-other-content")
    summarize([root], tmp_path / "board")
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "board"))
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/samples.py").run()
    assert not at.exception and not at.info
    assert len(at.sidebar.multiselect(key="sv_runs").value) == 3
    desc = frames(at, "description")[0]
    assert desc["level"].tolist() == LEVEL_ORDER and desc["description"].tolist()[-1] == "(empty)"
    at.sidebar.radio(key="sv_level").set_value("sparse").run()
    m = frames(at, "psnr")[0].set_index("run")
    assert {k.split(" · ")[0]: v for k, v in m["psnr"].items()} == {
        "gray": 14.0,
        "oracle": 27.0,
        "text-tint": 21.0,
    }
    assert len(at.get("image")) == 5  # gray input, ground truth, 3 outputs
    cwhr = frames(at, "phrase")[0]  # the first run's units (gray: no hit)
    assert cwhr[["phrase", "term", "hit"]].to_dict("records") == [
        {"phrase": "red car", "term": "red", "hit": False}
    ]
    assert any(plain(md.value) == "**Description (sparse):** a red car" for md in at.markdown)
    at.sidebar.selectbox(key="sv_split").set_value("b" * 64).run()
    assert not at.exception and len(at.sidebar.multiselect(key="sv_runs").value) == 1
    assert len(at.get("image")) == 3 and frames(at, "psnr")[0]["run"].str.startswith("gray").all()


def test_run_details(at, run_ids, plain):
    at.switch_page("app_pages/run_details.py").run()
    at.sidebar.selectbox(key="rd_run").set_value(run_ids["oracle"]).run()
    assert not at.exception
    ov = frames(at, "field")[0].set_index("field")["value"]
    assert (
        ov["model"] == "oracle 1"
        and ov["oracle / upper bound"] == "True"
        and ov["partial run"] == "no (full run)"
    )
    assert ov["split"] == "tiny (content aaaaaaaaaaaaaaaa)"
    assert frames(at, "key")[0].set_index("key")["value"].to_dict() == {
        "base_seed": "0",
        "n_seeds": "1",
    }
    assert frames(at, "package")[0].set_index("package")["version"]["numpy"] == "2.0"
    assert frames(at, "reason")[0].to_dict("records") == [
        {"metric": "clip_t", "reason": "no CLIP weights"}
    ]
    w = frames(at, "sha256")[0]
    assert w[w["metric"] == "lpips"]["sha256"].tolist() == ["ab" * 32]
    assert [plain(x.value) for x in at.warning] == ["fid_small_n"]
    at.sidebar.selectbox(key="rd_run").set_value(run_ids["text-tint@limit2"]).run()
    assert plain(at.warning[0].value) == "Not in the main ranking: limit 2"
    at.sidebar.selectbox(key="rd_run").set_value(
        "reported:example-2099-tab1:PaperNet:natural"
    ).run()
    ref = frames(at, "field")[0].set_index("field")["value"]
    assert "A fictitious paper for tests" in ref["source"] and ref["where"] == "Table 1"


def test_failed_samples_are_explained(monkeypatch, make_run_fn, app_path, tmp_path, plain):
    from lcad_bench.leaderboard.summarize import summarize

    root = tmp_path / "runs"
    make_run_fn(root, "gray")
    d = make_run_fn(root, "text-tint", fail={("img002#0", "complete")})
    summarize([root], tmp_path / "board")
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "board"))
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    main = frames(at, "rank")[0].set_index("run_id")
    assert main.loc[d.name, "failed"] == 1 and main.loc[d.name, "psnr · complete"] == pytest.approx(
        (24 + 26 + 22) / 3
    )
    assert any(
        "1 samples failed and are left out of every value" in plain(w.value) for w in at.warning
    )
    at.switch_page("app_pages/run_details.py").run()
    at.sidebar.selectbox(key="rd_run").set_value(d.name).run()
    fails = frames(at, "error")[0]
    assert fails.to_dict("records") == [{"pair_id": "img002#0", "level": "complete", "seed": "7",
                                         "error": "model raised ValueError: boom"}]  # fmt: skip


def _study(tmp_path, run_ids, models=("gray", "text-tint", "oracle")):
    from lcad_bench.study.design import StudyConfig, StudyItem
    from lcad_bench.study.store import StudyStore

    store = StudyStore(f"sqlite:///{tmp_path / 'study.db'}")
    runs = tuple(run_ids[m] for m in models)
    store.ensure_study(
        StudyConfig("s1", runs, "correspondence", "2afc", ("complete", "sparse"), 4, 0, 0)
    )
    # complete: text-tint beats gray 3 of 4, oracle beats text-tint 3 of 4, oracle beats gray 4 of 4
    games = {("text-tint", "gray"): 3, ("oracle", "text-tint"): 3, ("oracle", "gray"): 4}
    for rater in ("r1", "r2"):
        k = 0
        for (a, b), wins in games.items():
            for i in range(4):
                it = StudyItem(f"p{k}|controlled|complete|{run_ids[a]}|{run_ids[b]}", f"p{k}", "complete", "d",
                               (run_ids[a], run_ids[b]))  # fmt: skip
                k += 1
                win = a if i < wins else b
                if rater == "r2" and (a, b) == ("oracle", "gray") and i == 3:
                    win = b  # so that every method loses and wins once: Bradley-Terry is defined
                store.record(
                    study_id="s1",
                    rater_id=rater,
                    item=it,
                    criterion="correspondence",
                    choice=run_ids[win],
                )
    return store


def test_study_results_are_columns_of_the_main_table(
    monkeypatch, board_dir, app_path, tmp_path, run_ids, plain
):
    _study(tmp_path, run_ids)
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(board_dir))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    assert not at.exception
    main = frames(at, "rank")[0].set_index("run_id")
    win = "study:s1:correspondence:win · complete"
    # text-tint: won 3 + 3 of 8 vs gray (r1, r2) and 1 + 1 of 8 vs oracle -> 8 / 16
    assert main.loc[run_ids["text-tint"], win] == pytest.approx(8 / 16)
    assert main.loc[run_ids["gray"], win] == pytest.approx((1 + 1 + 0 + 1) / 16)
    assert main.loc[run_ids["oracle"], win] == pytest.approx((3 + 3 + 4 + 3) / 16)
    bt = "study:s1:correspondence:bt · complete"
    assert (
        main.loc[run_ids["gray"], bt] == 0.0
    )  # the alphabetically first method (run id) is fixed at 0
    assert main.loc[run_ids["oracle"], bt] > main.loc[run_ids["text-tint"], bt] > 0
    assert pd.isna(main.loc[run_ids["oracle"], "rank"])  # study columns do not change who is ranked
    assert (
        "avg rank" in main.columns and main.loc[run_ids["text-tint"], "avg rank"] == 1.0
    )  # nor the average rank
    at.switch_page("app_pages/levels.py").run()
    at.sidebar.selectbox(key="ch_metric").set_value("study:s1:correspondence:win").run()
    tab = frames(at, "complete (n=16)")[0].set_index("run")
    assert tab.loc[
        f"text-tint · {short(run_ids['text-tint'])}", "complete (n=16)"
    ] == pytest.approx(0.5)
    at.switch_page("app_pages/study_results.py").run()
    assert not at.exception
    by = frames(at, "win rate")[0]
    row = by[(by["level"] == "complete") & by["method"].str.startswith("text-tint")].iloc[0]
    assert row["win rate"] == "50.0%" and row["chosen"] == 8 and row["shown"] == 16
    assert len(at.get("vega_lite_chart")) == 1


def test_rater_joins_by_link_blind(monkeypatch, board_dir, app_path, tmp_path, run_ids, plain):
    """A second rater opens /study?study=s1: no set-up to retype, no method names on the page."""
    _study(tmp_path, run_ids, models=("gray", "text-tint"))
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(board_dir))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("app_pages/study.py")
    at.query_params["study"] = "s1"
    at.run()
    assert not at.exception and plain(at.subheader[0].value) == "Study s1"
    assert [i.value for i in at.info] == ["Enter your rater id to start."]
    at.text_input(key="st_rater").input("bob@example.org").run()
    assert not at.exception and [b.label for b in at.button] == ["Choose left", "Choose right"]
    shown = " ".join(
        [str(e.value) for e in (*at.markdown, *at.caption, *at.subheader, *at.info, *at.text_input)]
        + [str(getattr(e, "label", "")) for e in at.button]
    )
    for m in ("gray", "text-tint", "oracle", run_ids["gray"], run_ids["text-tint"]):
        assert m not in shown  # blind: nothing names the methods
    assert "0 of 4 answered" in at.get("progress")[0].proto.text
    at.button(key="choose_0").click().run()
    assert "1 of 4 answered" in at.get("progress")[0].proto.text
    from lcad_bench.study.store import StudyStore

    df = StudyStore(f"sqlite:///{tmp_path / 'study.db'}").frame("s1")
    new = df[~df["rater_id"].isin(["r1", "r2"])]
    assert len(new) == 1 and new.iloc[0]["choice"] == json.loads(new.iloc[0]["shown_methods"])[0]
    assert len(new.iloc[0]["rater_id"]) == 64 and "bob" not in new.iloc[0]["rater_id"]


def test_setting_up_a_study_gives_a_link(at, run_ids, plain, tmp_path):
    at.switch_page("app_pages/study.py").run()
    assert not at.exception
    at.text_input(key="st_id").input("new-study")
    at.multiselect(key="st_runs").set_value([run_ids["gray"], run_ids["text-tint"]])
    at.button[0].click().run()  # the form's "Create study"
    assert not at.exception
    assert any("Study new-study created" in plain(s.value) for s in at.success)
    from lcad_bench.study.store import StudyStore

    cfg = StudyStore(f"sqlite:///{tmp_path / 'study.db'}").study_config("new-study")
    assert cfg.runs == (run_ids["gray"], run_ids["text-tint"]) and cfg.levels == tuple(LEVEL_ORDER)


def test_results_page_without_database(at, plain):
    at.switch_page("app_pages/study_results.py").run()
    assert not at.exception and "No study database yet" in plain(at.info[0].value)


def test_leaderboard_alias_path(at):
    at.switch_page("app_pages/leaderboard_alias.py").run()
    assert not at.exception and frames(at, "rank")


def test_empty_board_folder_shows_hint(monkeypatch, app_path, tmp_path, plain):
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "nothing"))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "no board folder" in plain(at.warning[0].value)
    for page in (
        "app_pages/levels.py",
        "app_pages/samples.py",
        "app_pages/run_details.py",
        "app_pages/study_results.py",
        "app_pages/study.py",
    ):
        at.switch_page(page).run()
        assert not at.exception, page


def test_a_study_of_runs_on_two_splits_is_refused_at_set_up(
    monkeypatch, make_run_fn, app_path, tmp_path, plain
):
    """Review finding 5: the two runs share pair ids and descriptions but not the split content;
    "Create study" gives a clear error and stores nothing."""
    from lcad_bench.leaderboard.summarize import summarize

    from lcad_bench.study.store import StudyStore

    root = tmp_path / "runs"
    gray = make_run_fn(root, "gray").name
    other = make_run_fn(root, "text-tint", split="tiny-other-content").name
    summarize([root], tmp_path / "board")
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "board"))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/study.py").run()
    at.text_input(key="st_id").input("mixed")
    at.multiselect(key="st_runs").set_value([gray, other])
    at.button[0].click().run()
    assert not at.exception and not at.success
    (err,) = [plain(e.value) for e in at.error]
    assert err.startswith(
        "cannot set up study 'mixed': the runs are on different split contents (tiny · aaaaaaaa"
    )
    assert StudyStore(f"sqlite:///{tmp_path / 'study.db'}").study_config("mixed") is None


@pytest.mark.parametrize("kind", ["junk", "other-layout"])
def test_study_pages_with_an_unreadable_database(
    monkeypatch, board_dir, app_path, tmp_path, plain, kind
):
    """Review finding 6: a study.db that is not a database, or whose responses table has another
    layout, gives an error naming the database on both study pages, never a traceback."""
    import sqlite3

    db = tmp_path / "study.db"
    if kind == "junk":
        db.write_bytes(b"this is not a database\n" * 64)
    else:
        with sqlite3.connect(db) as con:
            con.execute("CREATE TABLE responses (x INTEGER)")
            con.execute("CREATE TABLE studies (y INTEGER)")
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(board_dir))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{db}")
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    assert not at.exception and any("study database" in plain(w.value) for w in at.warning)
    assert frames(at, "rank")  # the leaderboard itself is shown
    for page in ("app_pages/study_results.py", "app_pages/study.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        (err,) = [plain(e.value) for e in at.error]
        assert "study database" in err and str(db) in err and "LCAD_BENCH_STUDY_DB" in err, err


def test_unticking_partial_runs_keeps_every_full_group(
    monkeypatch, make_run_fn, app_path, tmp_path, plain
):
    """Review finding 9: with two protocol settings at the current version there are three groups
    of full runs; unticking "Show partial runs and other protocol versions" kept the first two
    titles starting "Full runs" and hid the third (the L*-replaced runs). Groups are now chosen
    by their fields (current protocol, not partial)."""
    from lcad_bench.leaderboard.summarize import summarize

    root = tmp_path / "runs"
    make_run_fn(root, "gray")
    make_run_fn(root, "text-tint", protocol={"eval_resolution": 512})
    make_run_fn(root, "l-paste")
    make_run_fn(root, "text-tint", limit=2)
    summarize([root], tmp_path / "board")
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "board"))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    full = [t for t in (plain(h.value) for h in at.subheader) if t.startswith("Full runs")]
    assert len(full) == 3 and any("replaced" in t for t in full)
    at.sidebar.checkbox(key="lb_other").uncheck().run()
    shown = [plain(h.value) for h in at.subheader if plain(h.value) != "Export"]
    assert shown == full
    assert {r.split(" · ")[0] for f in frames(at, "rank") for r in f["run"]} == {
        "gray",
        "text-tint",
        "l-paste",
    }
    assert all(len(f) == 1 for f in frames(at, "rank"))  # the --limit run is hidden


def test_sample_viewer_defaults_to_full_runs_only(monkeypatch, make_run_fn, app_path, tmp_path):
    """docs/leaderboard.md: the viewer starts with the split's first four full runs. It took the
    first four runs, so with two full runs it also showed two --limit runs."""
    from lcad_bench.leaderboard.summarize import summarize

    root = tmp_path / "runs"
    full = sorted(make_run_fn(root, m).name for m in ("gray", "oracle"))
    make_run_fn(root, "gray", limit=2)
    make_run_fn(root, "oracle", limit=3)
    summarize([root], tmp_path / "board")
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "board"))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/samples.py").run()
    assert not at.exception
    runs = at.sidebar.multiselect(key="sv_runs")
    assert sorted(runs.value) == full and len(runs.options) == 4
    assert len(at.get("image")) == 4  # gray input, ground truth, the two full runs' outputs
