"""Every page of the Streamlit app through AppTest, on the fixture board (values asserted)."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

TIMEOUT = 30


@pytest.fixture
def at(monkeypatch, board_dir, app_path, tmp_path):
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(board_dir))
    monkeypatch.setenv("LCAD_BENCH_STUDY_DB", f"sqlite:///{tmp_path / 'study.db'}")
    app = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    assert not app.exception
    return app


# AppTest exposes no key of a display-only dataframe: each table is found by a column only it has
MARKER = {"lb_table": "rank", "ch_table": "sparse − complete", "sv_desc": "description", "sv_metrics": "run",
          "rd_overview": "field", "rd_seeds": "key", "rd_env": "package", "rd_weights": "file", "rd_skipped": "reason",
          "sr_pref": "preference", "sv_cwhr": "phrase"}  # fmt: skip


def _table(at, key):
    frames = [d.value for d in at.dataframe]
    return next(f for f in frames if MARKER[key] in f.columns)


def test_leaderboard_table_values_and_order(at):
    df = _table(at, "lb_table")
    assert df["model"].tolist() == ["oracle", "text-tint", "gray", "text-tint", "PaperNet"]
    assert df["rank"].tolist()[:3] == [1, 2, 3]
    oracle = df.iloc[0]
    assert (
        oracle["psnr · complete"] == 30.0
        and oracle["lpips · sparse"] == 0.12
        and oracle["fid · none"] == 4.5
    )
    assert df["source"].iloc[-1] == "📄 reported" and df["psnr · complete"].iloc[-1] == 26.5
    # default sort: the first headline column of the metric catalogue (PSNR)
    assert at.markdown[0].value == "Top at level complete by PSNR ↑: oracle = 30.00"
    assert any(
        "reported" in m.value and "PaperNet" in m.value and "Table 1" in m.value
        for m in at.markdown
    )


def test_leaderboard_level_filter_changes_values(at):
    at.sidebar.radio(key="lb_level").set_value("sparse").run()
    df = _table(at, "lb_table")
    # columns in metric-catalogue order (headline columns first)
    assert [c for c in df.columns if "·" in c] == [
        "psnr · sparse",
        "lpips · sparse",
        "cwhr_chromatic · sparse",
        "fid · sparse",
    ]
    assert at.markdown[0].value == "Top at level sparse by PSNR ↑: oracle = 28.00"
    at.selectbox(key="lb_sort").set_value("lpips").run()
    df = _table(at, "lb_table")
    assert df["lpips · sparse"].tolist()[:3] == [0.12, 0.25, 0.30]


def test_leaderboard_metric_model_source_filters(at):
    at.sidebar.multiselect(key="lb_metrics").set_value(["psnr"]).run()
    at.sidebar.multiselect(key="lb_models").set_value(["gray", "PaperNet"]).run()
    df = _table(at, "lb_table")
    assert df["model"].tolist() == ["gray", "PaperNet"]
    assert [c for c in df.columns if "·" in c] == [
        "psnr · complete",
        "psnr · partial",
        "psnr · sparse",
        "psnr · none",
    ]
    at.sidebar.radio(key="lb_source").set_value("reproduced").run()
    assert _table(at, "lb_table")["model"].tolist() == ["gray"]
    at.sidebar.radio(key="lb_source").set_value("all").run()
    at.sidebar.multiselect(key="lb_models").set_value([]).run()
    at.sidebar.checkbox(key="lb_other").uncheck().run()
    assert "text-tint-limited-run" not in _table(at, "lb_table")["run_id"].tolist()
    at.sidebar.checkbox(key="lb_ci").check().run()
    assert _table(at, "lb_table")["psnr · complete · 95% CI"].iloc[0] == "[29.7, 30.3]"


def test_split_filter(monkeypatch, runs_root, make_run_fn, app_path, tmp_path):
    root = tmp_path / "runs"
    make_run_fn(root, "gray", split="other")
    make_run_fn(root, "oracle")
    from lcad_bench.leaderboard.summarize import summarize

    summarize([root], tmp_path / "board")
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "board"))
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    assert _table(at, "lb_table")["model"].tolist() == ["gray"]  # "other" sorts first
    at.sidebar.selectbox(key="lb_split").set_value("tiny").run()
    assert _table(at, "lb_table")["model"].tolist() == ["oracle"]


def test_levels_page_chart_and_table(at):
    at.switch_page("pages/levels.py").run()
    assert not at.exception
    at.sidebar.selectbox(key="ch_metric").set_value("psnr").run()
    deg = _table(at, "ch_table").set_index("run")
    assert deg.loc["oracle", "complete"] == 30.0 and deg.loc["oracle", "sparse − complete"] == -2.0
    assert deg.loc["PaperNet (reported)", "complete"] == 26.5
    at.sidebar.multiselect(key="ch_models").set_value(["gray"]).run()
    assert _table(at, "ch_table")["run"].tolist() == ["gray"]
    assert len(at.get("vega_lite_chart")) == 1


def test_sample_viewer(at):
    at.switch_page("pages/samples.py").run()
    assert not at.exception
    desc = _table(at, "sv_desc")
    assert desc["level"].tolist() == ["complete", "partial", "sparse", "none"]
    assert desc["description"].iloc[0] == "a red car on green grass"
    at.sidebar.radio(key="sv_level").set_value("sparse").run()
    m = _table(at, "sv_metrics").set_index("run")
    assert len(m) == 3 and m["psnr"].to_dict() == {
        "gray [tinyhash0000]": 20.0,
        "oracle [tinyhash0000]": 28.0,
        "text-tint [tinyhash0000]": 21.5,
    }
    assert len(at.get("image")) == 5  # gray input, ground truth, 3 outputs
    cwhr = _table(at, "sv_cwhr")  # the first run's units (gray: no hit)
    assert cwhr[["phrase", "term", "hit"]].to_dict("records") == [
        {"phrase": "red car", "term": "red", "hit": False}
    ]
    assert any(md.value == "**Description (sparse):** a red car" for md in at.markdown)


def test_run_details(at):
    at.switch_page("pages/run_details.py").run()
    at.sidebar.selectbox(key="rd_run").set_value("oracle-cfg000000000-tinyhash0000").run()
    assert not at.exception
    ov = _table(at, "rd_overview").set_index("field")["value"]
    assert ov["model"] == "oracle 1" and ov["luminance replaced"] == "True"
    assert _table(at, "rd_seeds").set_index("key")["value"].to_dict() == {
        "base_seed": "0",
        "n_seeds": "1",
    }
    assert _table(at, "rd_env").set_index("package")["version"]["numpy"] == "2.0"
    assert _table(at, "rd_skipped").to_dict("records") == [
        {"metric": "clip_t", "reason": "no CLIP weights"}
    ]
    w = _table(at, "rd_weights")
    assert w[w["metric"] == "lpips"]["sha256"].tolist() == ["ab" * 32]
    assert [x.value for x in at.warning] == ["fid_small_n"]
    at.sidebar.selectbox(key="rd_run").set_value("reported:example-2099-tab1:PaperNet").run()
    assert any(
        "A fictitious paper for tests" in m.value and "Table 1" in m.value for m in at.markdown
    )


def test_study_page_records_a_response_and_results_page_shows_it(at, tmp_path):
    at.switch_page("pages/study.py").run()
    assert not at.exception
    assert [i.value for i in at.info] == ["Enter a rater id to start."]
    at.text_input(key="st_rater").input("alice@example.org").run()
    assert not at.exception and [b.label for b in at.button] == ["Choose left", "Choose right"]
    at.button(key="choose_1").click().run()
    assert not at.exception
    from lcad_bench.study.store import StudyStore

    df = StudyStore(f"sqlite:///{tmp_path / 'study.db'}").frame()
    assert len(df) == 1
    r = df.iloc[0]
    assert (
        r["study_id"] == "study-1" and r["criterion"] == "correspondence" and r["design"] == "2afc"
    )
    assert len(r["rater_id"]) == 64 and "alice" not in r["rater_id"]
    import json

    shown = json.loads(r["shown_methods"])
    assert r["choice"] == shown[1] and r["response_time_ms"] >= 0 and not r["is_catch"]
    assert "1 of 12 answered" in at.get("progress")[0].proto.text
    at.switch_page("pages/study_results.py").run()
    assert not at.exception
    pref = _table(at, "sr_pref")
    assert sorted(pref["chosen"].tolist()) == [0, 1] and pref["shown"].tolist() == [1, 1]
    assert pref.loc[pref["chosen"] == 1, "ci_low"].iloc[0] == pytest.approx(0.206549, abs=1e-5)
    assert [m.value for m in at.metric][:3] == ["1", "1", "1"]


def test_results_page_without_database(at):
    at.switch_page("pages/study_results.py").run()
    assert not at.exception and "No study database yet" in at.info[0].value


def test_empty_board_folder_shows_hint(monkeypatch, app_path, tmp_path):
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "nothing"))
    at = AppTest.from_file(app_path, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "no board folder" in at.warning[0].value
    for page in (
        "pages/levels.py",
        "pages/samples.py",
        "pages/run_details.py",
        "pages/study_results.py",
        "pages/study.py",
    ):
        at.switch_page(page).run()
        assert not at.exception, page


def test_pandas_only_values_in_table(at):
    assert isinstance(_table(at, "lb_table"), pd.DataFrame)
