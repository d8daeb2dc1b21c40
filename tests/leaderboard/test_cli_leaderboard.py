"""``lcad-bench summarize | leaderboard | study`` (registered here on a private parser)."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from lcad_bench.cli.leaderboard import register, streamlit_command
from lcad_bench.errors import LcadBenchError, MissingInputError


def _main(argv):
    p = argparse.ArgumentParser(prog="lcad-bench")
    register(p.add_subparsers(dest="command"))
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except LcadBenchError as exc:
        return int(exc.exit_code)


def test_summarize_cli(runs_root, tmp_path, capsys):
    assert _main(["summarize", str(runs_root), "--out", str(tmp_path / "b"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (
        out["runs"] == 6 and out["warnings"] == []
    )  # 4 models, the --limit run, 1 reported method
    df = pd.read_parquet(tmp_path / "b" / "leaderboard.parquet")
    assert {"run_id", "model", "split", "scheme", "level", "metric", "value", "ci_low", "ci_high", "n", "reported",
            "luminance_replaced", "date", "source"} <= set(df.columns)  # fmt: skip
    assert (
        df["reported"].sum() == 2
        and json.loads((tmp_path / "b" / "metrics.json").read_text())["lpips"]["higher_is_better"]
        is False
    )
    runs = json.loads((tmp_path / "b" / "runs.json").read_text())["runs"]
    assert all(r["run_dir"] for r in runs if not r["reported"])


def test_summarize_nothing_valid_is_exit_3(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "results.json").write_text("{}")
    assert _main(["summarize", str(tmp_path / "r"), "--out", str(tmp_path / "b")]) == 3
    assert "invalid results file" in capsys.readouterr().err


def test_leaderboard_command_line(board_dir, monkeypatch):
    cmd = streamlit_command(str(board_dir), 8765, headless=True)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app.py") and "8765" in cmd
    calls = {}
    monkeypatch.setattr("subprocess.call", lambda c, env: calls.update(cmd=c, env=env) or 0)
    assert _main(["leaderboard", "--board", str(board_dir), "--port", "8765", "--headless"]) == 0
    assert calls["env"]["LCAD_BENCH_LEADERBOARD"] == str(board_dir.resolve())


def test_leaderboard_without_board_is_exit_3(tmp_path):
    assert _main(["leaderboard", "--board", str(tmp_path / "none")]) == int(
        MissingInputError.exit_code
    )


def test_study_import_analyze_export(tmp_path, capsys):
    csv = tmp_path / "r.csv"
    pd.DataFrame([{"rater": f"u{r}", "pair_id": "p", "level": "sparse", "method": m, "score": s}
                  for r in range(2) for m, s in (("A", 5), ("B", 3))]).to_csv(csv, index=False)  # fmt: skip
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}"]
    assert _main(["study", "import-likert", str(csv), "--study", "m1", *db]) == 0
    assert _main(["study", "analyze", *db, "--json", "--bootstrap", "50"]) == 0
    res = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert {m["method"]: m["mos"] for m in res["m1"]["mos"]} == {"A": 5.0, "B": 3.0}
    assert _main(["study", "analyze", *db]) == 0
    assert "MOS" in capsys.readouterr().out
    assert _main(["study", "export", *db, "--out", str(tmp_path / "x.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "x.csv")) == 4
    assert _main(["study", "export", *db, "--out", str(tmp_path / "x.txt")]) == 2


def test_study_analyze_empty_is_exit_3(tmp_path):
    assert _main(["study", "analyze", "--db", f"sqlite:///{tmp_path / 'e.db'}"]) == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["summarize"],
        ["leaderboard"],
        ["study"],
        ["study", "export"],
        ["study", "analyze"],
        ["study", "import-likert"],
    ],
)
def test_help_ends_with_two_examples(argv, capsys):
    with pytest.raises(SystemExit):
        _main([*argv, "--help"])
    text = capsys.readouterr().out.rstrip().splitlines()
    assert text[-3] == "examples:" and all(line.startswith("  lcad-bench ") for line in text[-2:])


def test_leaderboard_on_a_busy_port_is_exit_3(board_dir, monkeypatch, capsys):
    """Another server listens on the port: a message and exit 3, the app is never started."""
    import socket

    calls = []
    monkeypatch.setattr("subprocess.call", lambda c, env: calls.append(c) or 0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        rc = _main(
            [
                "leaderboard",
                "--board",
                str(board_dir),
                "--port",
                str(port),
                "--address",
                "127.0.0.1",
            ]
        )
    assert rc == int(MissingInputError.exit_code) == 3 and calls == []


def test_busy_port_message(board_dir):
    import socket

    from lcad_bench.cli.leaderboard import port_in_use, run_leaderboard

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert "is taken" in port_in_use("127.0.0.1", port)
        args = argparse.Namespace(
            board=str(board_dir), port=port, address="127.0.0.1", headless=True
        )
        with pytest.raises(
            MissingInputError, match=f"cannot serve the board on port {port}.*--port {port + 1}"
        ):
            run_leaderboard(args)
    assert port_in_use("127.0.0.1", port) is None  # free again once the other server is gone


def test_import_likert_with_an_empty_cell_is_exit_4_naming_file_and_row(tmp_path):
    """Review finding 14: an empty pair_id reached the database (IntegrityError traceback,
    exit 1). Each row is checked first: exit 4 (InputFormatError) naming the file and its line."""
    import subprocess
    import sys

    csv = tmp_path / "r.csv"
    csv.write_text("rater,pair_id,level,method,score\nu1,p1,complete,A,4\nu1,,complete,A,3\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    r = subprocess.run([sys.executable, "-m", "lcad_bench", "study", "import-likert", str(csv), "--study", "m1",
                        "--db", db], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 4, r.stderr
    assert "Traceback" not in r.stderr and f"{csv}: row 3: empty pair_id" in r.stderr
    from lcad_bench.study.store import StudyStore

    assert StudyStore(db).frame().empty  # nothing half-imported


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "u1,p2,partly,A,3,",
            "row 3: level 'partly': expected one of ['complete', 'partial', 'sparse', 'none']",
        ),
        (
            "u1,p2,complete,A,3,beauty",
            "row 3: criterion 'beauty': expected one of ['correspondence', 'realism']",
        ),
        (" ,p2,complete,A,3,", "row 3: empty rater"),
        ("u1,p2,complete,,3,", "row 3: empty method"),
        ("u1,p2,complete,A,,", "row 3: score '' is not a number"),
        (
            "u1,p1,complete,A,2,",
            "row 3: rater 'u1' rated pair p1 at complete for A already in row 2: one rating per rater and item",
        ),
    ],
)
def test_import_likert_validates_every_row(tmp_path, row, message):
    from lcad_bench.errors import InputFormatError
    from lcad_bench.study.store import StudyStore, import_likert

    csv = tmp_path / "r.csv"
    csv.write_text(f"rater,pair_id,level,method,score,criterion\nu1,p1,complete,A,4,\n{row}\n")
    store = StudyStore(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(InputFormatError) as exc:
        import_likert(store, csv, "m1")
    assert str(exc.value) == f"{csv}: {message}"
    assert store.frame().empty


def test_import_likert_twice_is_refused(tmp_path):
    from lcad_bench.errors import InputFormatError
    from lcad_bench.study.store import StudyStore, import_likert

    csv = tmp_path / "r.csv"
    csv.write_text("rater,pair_id,level,method,score\nu1,p1,complete,A,4\n")
    store = StudyStore(f"sqlite:///{tmp_path / 's.db'}")
    assert import_likert(store, csv, "m1", salt="s") == 1
    with pytest.raises(
        InputFormatError,
        match="already stored in study 'm1' \\(was this file imported before\\?\\)",
    ):
        import_likert(store, csv, "m1", salt="s")
    assert len(store.frame()) == 1
