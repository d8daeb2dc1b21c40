"""Malformed or partial inputs: a warning, left out, never a crash, nothing unpickled or executed."""

from __future__ import annotations

import json
import pickle
import re
import shutil

from lcad_bench.leaderboard.board import load_board
from lcad_bench.leaderboard.summarize import summarize
from streamlit.testing.v1 import AppTest


def plain(text: str) -> str:
    """Text as the page renders it (the app backslash-escapes untrusted text for Markdown)."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def _good(make_run_fn, root):
    return make_run_fn(root, "oracle")


def _summarize_with(tmp_path, make_run_fn, bad_name, content: bytes | str):
    root = tmp_path / "runs"
    _good(make_run_fn, root)
    bad = root / bad_name
    bad.parent.mkdir(parents=True, exist_ok=True)
    (bad.write_bytes if isinstance(content, bytes) else bad.write_text)(content)
    s = summarize([root], tmp_path / "board")
    return s


def _only_oracle(s):
    assert [r["model"] for r in s.runs] == ["oracle"]


def test_invalid_json(tmp_path, make_run_fn):
    s = _summarize_with(tmp_path, make_run_fn, "broken/results.json", '{"run_id": "x", ')
    _only_oracle(s)
    assert any("broken/results.json: not readable JSON" in w for w in s.warnings)


class _Boom:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/lcad_bench_pwned_marker",))


def test_pickle_payload_is_never_unpickled(tmp_path, make_run_fn):
    import os

    marker = "/tmp/lcad_bench_pwned_marker"
    if os.path.exists(marker):
        os.remove(marker)
    s = _summarize_with(tmp_path, make_run_fn, "evil/results.json", pickle.dumps(_Boom()))
    _only_oracle(s)
    assert any("evil/results.json" in w for w in s.warnings)
    assert not os.path.exists(marker)


def test_missing_required_fields(tmp_path, make_run_fn):
    s = _summarize_with(
        tmp_path, make_run_fn, "partial/results.json", json.dumps({"run_id": "p", "aggregates": []})
    )
    _only_oracle(s)
    assert any("partial/results.json: invalid results file" in w for w in s.warnings)


def test_wrong_types_in_aggregates(tmp_path, make_run_fn):
    d = make_run_fn(tmp_path / "x", "gray")
    obj = json.loads((d / "results.json").read_text())
    obj["aggregates"][0]["mean"] = "thirty"
    s = _summarize_with(tmp_path, make_run_fn, "typed/results.json", json.dumps(obj))
    _only_oracle(s)
    assert any(
        "typed/results.json: invalid results file (aggregates.0.mean" in w for w in s.warnings
    )


def test_no_aggregates_partial_run(tmp_path, make_run_fn):
    d = make_run_fn(tmp_path / "x", "gray")
    obj = json.loads((d / "results.json").read_text())
    obj["aggregates"], obj["distribution_metrics"] = [], []
    s = _summarize_with(tmp_path, make_run_fn, "empty/results.json", json.dumps(obj))
    _only_oracle(s)
    assert any("no aggregates" in w for w in s.warnings)


def test_duplicate_run_id(tmp_path, make_run_fn):
    root = tmp_path / "runs"
    d = _good(make_run_fn, root)
    shutil.copytree(d, root / "copy")
    s = summarize([root], tmp_path / "board")
    _only_oracle(s)
    assert any("already read" in w for w in s.warnings)


def test_reported_file_without_exact_citation(tmp_path, make_run_fn):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "lb_conftest", Path(__file__).with_name("conftest.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rep = json.loads(json.dumps(mod.REPORTED))
    del rep["citation"]["table"]
    s = _summarize_with(tmp_path, make_run_fn, "paper.reported.json", json.dumps(rep))
    _only_oracle(s)
    assert any(
        "invalid reported-results file" in w and "table, figure, page or comment" in w
        for w in s.warnings
    )
    rep2 = json.loads(json.dumps(mod.REPORTED))
    rep2["entries"][0]["metrics"]["psnr"] = float("nan")
    s2 = _summarize_with(tmp_path / "b", make_run_fn, "nan.reported.json", json.dumps(rep2))
    _only_oracle(s2)


def test_unrelated_json_is_ignored_silently(tmp_path, make_run_fn):
    s = _summarize_with(tmp_path, make_run_fn, "notes/config.json", json.dumps({"hello": 1}))
    _only_oracle(s)
    assert s.warnings == []


def test_nonexistent_input(tmp_path):
    s = summarize([tmp_path / "nope"], tmp_path / "board")
    assert s.runs == [] and "does not exist" in s.warnings[0]


def test_samples_path_escaping_the_run_folder_is_refused(tmp_path, make_run_fn):
    from lcad_bench.leaderboard.samples import load_samples, safe_join

    d = make_run_fn(tmp_path / "runs", "oracle")
    obj = json.loads((d / "results.json").read_text())
    obj["samples"]["path"] = "../../../../etc/passwd"
    (d / "results.json").write_text(json.dumps(obj))
    s = summarize([d], tmp_path / "board")
    assert s.runs[0]["samples"] is None
    df, warn = load_samples({"run_id": "r", "run_dir": str(d), "samples": "../x.parquet"})
    assert df is None and "leaves the run folder" in warn
    assert safe_join(d, "/etc/passwd") is None and safe_join(d, "outputs/../../x") is None


def _board(tmp_path, make_run_fn):
    d = make_run_fn(tmp_path / "runs", "oracle")
    out = tmp_path / "board"
    summarize([d], out)
    return out


def _app_ok(monkeypatch, board, app_path):
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(board))
    at = AppTest.from_file(app_path, default_timeout=30).run()
    assert not at.exception
    for page in (
        "app_pages/levels.py",
        "app_pages/samples.py",
        "app_pages/run_details.py",
        "app_pages/study_results.py",
    ):
        at.switch_page(page).run()
        assert not at.exception, page
    at.switch_page("app_pages/leaderboard.py").run()
    return at


def test_board_with_corrupt_parquet(tmp_path, make_run_fn, monkeypatch, app_path):
    b = _board(tmp_path, make_run_fn)
    (b / "leaderboard.parquet").write_bytes(b"PAR1 not really")
    assert "unreadable" in load_board(b).warnings[0]
    at = _app_ok(monkeypatch, b, app_path)
    assert any("leaderboard.parquet is unreadable" in plain(w.value) for w in at.warning)


def test_board_with_bad_metrics_and_runs_json(tmp_path, make_run_fn, monkeypatch, app_path):
    b = _board(tmp_path, make_run_fn)
    (b / "metrics.json").write_text("[1, 2]")
    (b / "runs.json").write_text("{not json")
    board = load_board(b)
    assert any("metrics.json is not an object" in w for w in board.warnings)
    assert any("runs.json: not valid JSON" in w for w in board.warnings)
    assert board.infos["psnr"].arrow == "↑"  # built-in fallback
    at = _app_ok(monkeypatch, b, app_path)
    assert at.dataframe[0].value["psnr · complete"].tolist() == [30.0]


def test_board_with_missing_columns(tmp_path, make_run_fn, monkeypatch, app_path):
    import pandas as pd

    b = _board(tmp_path, make_run_fn)
    pd.DataFrame({"x": [1]}).to_parquet(b / "leaderboard.parquet")
    assert "lacks columns" in load_board(b).warnings[0]
    _app_ok(monkeypatch, b, app_path)


def test_board_with_corrupt_samples_and_images(tmp_path, make_run_fn, monkeypatch, app_path):
    b = _board(tmp_path, make_run_fn)
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.name.startswith("oracle-")]
    from lcad_bench.evaluation.rundir import gt_relpath

    (run_dir / gt_relpath("img000")).write_bytes(b"not a png")
    at = _app_ok(monkeypatch, b, app_path)
    at.switch_page("app_pages/samples.py").run()
    assert not at.exception and any("ground truth not found" in plain(i.value) for i in at.info)
    (run_dir / "samples.parquet").write_bytes(b"garbage")
    at2 = _app_ok(monkeypatch, b, app_path)
    at2.switch_page("app_pages/samples.py").run()
    assert not at2.exception and any("the board is stale" in plain(w.value) for w in at2.warning)


def test_samples_changed_after_summarize_are_not_shown(
    tmp_path, make_run_fn, monkeypatch, app_path, fixture_values
):
    """Review finding 4: runs.json records the samples table's sha256 (from results.json); a
    table rewritten since (the run evaluated again into the same folder) is not shown: the
    viewer says the board is stale instead of showing samples that do not match its numbers."""
    from lcad_bench.leaderboard.samples import load_samples

    root = tmp_path / "runs"
    d = make_run_fn(root, "oracle")
    recorded = json.loads((d / "results.json").read_text())["samples"]["sha256"]
    summarize([root], tmp_path / "board")
    (entry,) = json.loads((tmp_path / "board" / "runs.json").read_text())["runs"]
    assert entry["samples_sha256"] == recorded
    df, warn = load_samples(entry)
    assert warn is None and df.loc[df["level"] == "complete", "psnr"].tolist() == [
        29.0,
        31.0,
        28.0,
        32.0,
    ]
    other = {m: {lv: (None if v is None else [x + 1 for x in v]) for lv, v in per.items()}
             for m, per in fixture_values["oracle"].items()}  # fmt: skip
    make_run_fn(
        root, "oracle", values=other
    )  # the same folder, other samples; not summarized again
    df, warn = load_samples(entry)
    assert df is None and "has changed since the board was written" in warn
    assert warn.endswith("the board is stale; rerun `lcad-bench summarize`")
    old_board = {
        k: v for k, v in entry.items() if k != "samples_sha256"
    }  # a board without the hash
    df, warn = load_samples(old_board)
    assert df is None and "records no sha256" in warn
    at = _app_ok(monkeypatch, tmp_path / "board", app_path)
    at.switch_page("app_pages/samples.py").run()
    assert not at.exception and not at.get("image")
    assert any(
        "the board is stale; rerun `lcad-bench summarize`" in plain(w.value) for w in at.warning
    )
    assert not [d for d in at.dataframe if "psnr" in d.value.columns]  # nor its per-sample metrics


def test_results_without_samples_sha256_has_no_samples_on_the_board(tmp_path, make_run_fn):
    d = make_run_fn(tmp_path / "runs", "oracle")
    obj = json.loads((d / "results.json").read_text())
    del obj["samples"]["sha256"]
    (d / "results.json").write_text(json.dumps(obj))
    s = summarize([d], tmp_path / "board")
    assert s.runs[0]["samples"] is None and s.runs[0]["samples_sha256"] is None
    assert any("records no sha256 of its samples table" in w for w in s.warnings)


def test_malformed_split_and_protocol_blocks_are_left_out(tmp_path, make_run_fn):
    """Review finding 7: results.json's split and protocol blocks are untyped; a wrong shard,
    limit or level list was a TypeError in summarize. Now a warning names the file and field."""
    d = make_run_fn(tmp_path / "x", "gray")
    base = json.loads((d / "results.json").read_text())
    cases = {"shard3": ("split", "shard", 3), "shardbool": ("split", "shard", [True, 2]),
             "shardrange": ("split", "shard", [2, 2]), "limit": ("split", "limit", "20"),
             "levels": ("protocol", "levels", "complete")}  # fmt: skip
    root = tmp_path / "runs"
    _good(make_run_fn, root)
    for name, (block, key, value) in cases.items():
        obj = json.loads(json.dumps(base))
        obj["run_id"] = f"bad-{name}"
        obj[block][key] = value
        shutil.copytree(d, root / name)  # with its samples table: read as far as the bad field
        (root / name / "results.json").write_text(json.dumps(obj))
    s = summarize([root], tmp_path / "board")
    _only_oracle(s)
    for name, (block, key, value) in cases.items():
        assert any(f"{name}/results.json: invalid results file ({block}.{key}: expected" in w and
                   f"got {json.dumps(value)}); left out" in w for w in s.warnings), name  # fmt: skip


def test_summarize_cli_with_a_malformed_shard_is_not_a_crash(tmp_path, make_run_fn):
    """The same through the command line: exit 0 with the good run, a warning naming the file,
    no "unexpected error" (exit 1) and no traceback."""
    import subprocess
    import sys

    root = tmp_path / "runs"
    _good(make_run_fn, root)
    d = make_run_fn(tmp_path / "x", "gray")
    obj = json.loads((d / "results.json").read_text())
    obj["split"]["shard"] = 3
    shutil.copytree(d, root / "bad")
    (root / "bad" / "results.json").write_text(json.dumps(obj))
    r = subprocess.run([sys.executable, "-m", "lcad_bench", "summarize", str(root), "--out", str(tmp_path / "board")],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "unexpected error" not in r.stderr
    assert (
        f"warning: {root / 'bad' / 'results.json'}: invalid results file (split.shard: expected [i, n]"
        in r.stderr
    )
    assert "1 runs (0 reported)" in r.stdout


def _reported():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "lb_conftest", Path(__file__).with_name("conftest.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return json.loads(json.dumps(mod.REPORTED))


def test_reported_entries_of_one_model_in_several_versions_and_schemes_are_all_shown(
    tmp_path, make_run_fn
):
    """Review finding 8: the run id of a reported method was reported:<id>:<model>, so entries
    of one model in two schemes (or versions) shared it and the context table's pivot kept only
    the first. The id now holds version and scheme; every entry is a row."""
    from lcad_bench.leaderboard.tables import context_table

    rep = _reported()
    e = rep["entries"][0]
    rep["entries"] = [e, {**e, "scheme": "controlled", "metrics": {"psnr": 25.0}},
                      {**e, "model_version": "v2", "metrics": {"psnr": 27.5}}]  # fmt: skip
    s = _summarize_with(tmp_path, make_run_fn, "paper.reported.json", json.dumps(rep))
    assert s.warnings == []
    ids = sorted(r["run_id"] for r in s.runs if r["reported"])
    assert ids == ["reported:example-2099-tab1:PaperNet:controlled", "reported:example-2099-tab1:PaperNet:natural",
                   "reported:example-2099-tab1:PaperNet@v2:natural"]  # fmt: skip
    b = load_board(tmp_path / "board")
    ctx = context_table(b.frame[b.frame["reported"]], b.runs, ["psnr"], ["complete"])
    got = sorted(zip(ctx["model"], ctx["scheme"], ctx["psnr · reported"]))
    assert got == [
        ("PaperNet", "controlled", 25.0),
        ("PaperNet", "natural", 26.5),
        ("PaperNet v2", "natural", 27.5),
    ]


def test_reported_file_repeating_an_entry_is_refused(tmp_path, make_run_fn):
    rep = _reported()
    rep["entries"].append({**rep["entries"][0], "metrics": {"fid": 3.0}, "ci": {}})
    s = _summarize_with(tmp_path, make_run_fn, "paper.reported.json", json.dumps(rep))
    _only_oracle(s)
    assert any("paper.reported.json: invalid reported-results file" in w and "entries 0 and 1 repeat model "
               "'PaperNet', version None, scheme 'natural', level 'complete'" in w for w in s.warnings)  # fmt: skip


def test_a_folder_named_outputs_is_searched_outside_run_folders(tmp_path, make_run_fn):
    """Review finding 10: every path with a folder named "outputs" was skipped, so runs kept
    under experiments/outputs/ vanished without a word. Only a run folder's own files are
    skipped now (nothing below a folder with results.json is read), and a results.json found
    there is named in a warning."""
    root = tmp_path / "experiments"
    make_run_fn(root / "outputs", "gray")
    oracle = make_run_fn(root, "oracle")
    shutil.copytree(make_run_fn(tmp_path / "x", "text-tint"), oracle / "old" / "text-tint")
    s = summarize([root], tmp_path / "board")
    assert sorted(r["model"] for r in s.runs) == ["gray", "oracle"]
    assert s.warnings == [f"{(oracle / 'old' / 'text-tint' / 'results.json').resolve()}: inside the run folder "
                          f"{oracle.resolve()}, whose results.json was read; not read (summarize it on its own, "
                          "or move it out of the run folder)"]  # fmt: skip
