"""The run folder: one writer at a time, results.json never describes another samples table,
write failures are exit 3 and resume, stored ground truths are verified, names never collide,
files follow the process umask."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from rel_helpers import lcad_bench, path_split, png, psnr_suite, rgb, rows, run_log, write_split_of

from lcad_bench.errors import ExitCode, LcadBenchError
from lcad_bench.evaluation import rundir
from lcad_bench.evaluation.runner import evaluate
from lcad_bench.models import create_model


@pytest.fixture
def split3(tmp_path):
    return path_split(tmp_path / "data", {k: png(rgb(i)) for i, k in enumerate("abc")})


def _strip(run):
    r = json.loads((run / "results.json").read_text())
    r.pop("created_at")
    return r


# --------------------------------------------------------------------------------------------
# the lock


def test_second_writer_on_one_out_is_refused_naming_the_first(split3, tmp_path, cli, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from lcad_bench.evaluation.rundir import locked
            with locked({str(out)!r}, "evaluate slow-model on somewhere"):
                print("held", flush=True)
                time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        rc = cli(["evaluate", "--model", "gray", "--split", str(split3), "--out", str(out), "-q"])
        err = capsys.readouterr().err
        assert rc == ExitCode.USAGE
        assert f"pid {holder.pid}" in err and "evaluate slow-model on somewhere" in err
        assert "wait for it to finish or choose another --out" in err
        assert not (out / "results.json").exists()
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the dead holder's lock: the next run goes ahead
    assert (
        cli(
            [
                "evaluate",
                "--model",
                "gray",
                "--split",
                str(split3),
                "--out",
                str(out),
                "--metrics",
                "psnr",
                "-q",
            ]
        )
        == 0
    )


def test_stale_lock_of_a_dead_process_is_taken_over(split3, tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "run"
    out.mkdir()
    (out / rundir.LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename,
                                                   "command": "evaluate x", "started": "earlier"}))  # fmt: skip
    res = evaluate(create_model("gray"), split3, out, suite=psnr_suite(), quiet=True)
    assert res.counts["failed"] == 0
    assert f"left locked by pid {dead.pid}" in capsys.readouterr().err
    assert (out / rundir.LOCK_FILE).read_text() == ""  # released cleanly


# --------------------------------------------------------------------------------------------
# results.json and the files it summarises


def test_kill_between_samples_and_results_is_refused_then_repaired(
    split3, tmp_path, cli, capsys, monkeypatch
):
    out = tmp_path / "run"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                "gray",
                "--split",
                str(split3),
                "--out",
                str(out),
                "--metrics",
                "psnr",
                "-q",
            ]
        )
        == 0
    )

    # a second run (other levels) is killed after writing samples.parquet, before results.json
    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(rundir, "write_results", killed)
    args = ["evaluate", "--model", "gray", "--split", str(split3), "--out", str(out), "--metrics", "psnr",
            "--levels", "none", "-q"]  # fmt: skip
    assert cli(args) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert cli(["show", str(out)]) == ExitCode.VERIFY
    err = capsys.readouterr().err
    assert "samples.parquet: sha256" in err and "do not belong together" in err and "rerun" in err
    from lcad_bench.leaderboard.summarize import summarize

    s = summarize([out], tmp_path / "board")
    assert not s.runs  # the board never shows a results file with another run's samples
    # rerunning the interrupted command rewrites both: consistent again
    assert cli(args) == 0
    assert cli(["show", str(out)]) == 0
    assert {r["level"] for r in rows(out)} == {"none"}


def test_distribution_state_must_match_results(split3, tmp_path, cli, capsys):
    out = tmp_path / "run"
    evaluate(create_model("gray"), split3, out, suite=psnr_suite(), quiet=True)
    rundir.save_distribution_state(
        out, {"none": {"fid": {"n": np.int64(3)}}}
    )  # a later, killed run
    with pytest.raises(
        LcadBenchError, match="distribution_state.npz: sha256 .* do not belong together"
    ):
        rundir.open_run(out)


# --------------------------------------------------------------------------------------------
# write failures


def test_disk_full_is_exit_3_and_the_rerun_equals_an_uninterrupted_run(
    split3, tmp_path, cli, capsys, monkeypatch
):
    import lcad_bench.evaluation.cache as cache_mod

    real = cache_mod.atomic_write_bytes
    calls = {"n": 0}

    def fills_up(path, data, fsync=True):
        calls["n"] += 1
        if calls["n"] > 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data, fsync)

    monkeypatch.setattr(cache_mod, "atomic_write_bytes", fills_up)
    out = tmp_path / "run"
    args = ["evaluate", "--model", "gray", "--split", str(split3), "--out", str(out), "--metrics", "psnr",
            "--batch-size", "1", "-q"]  # fmt: skip
    assert cli(args) == ExitCode.MISSING
    err = capsys.readouterr().err
    assert (
        "No space left on device" in err
        and "rerun the same command" in err
        and "Traceback" not in err
    )
    monkeypatch.undo()
    assert cli(args) == 0
    assert run_log(out)[-1]["cached"] == 4 and run_log(out)[-1]["computed"] == 5
    assert cli(["evaluate", "--model", "gray", "--split", str(split3), "--out", str(tmp_path / "ref"),
                "--metrics", "psnr", "--batch-size", "1", "-q"]) == 0  # fmt: skip
    assert _strip(out) == _strip(tmp_path / "ref")


def test_out_that_is_a_file_is_exit_3(split3, tmp_path):
    f = tmp_path / "taken"
    f.write_text("not a folder")
    rc, _, err = lcad_bench("evaluate", "--model", "gray", "--split", str(split3), "--out", str(f))
    assert rc == ExitCode.MISSING and "--out must be a folder" in err and "Traceback" not in err


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_export_inputs_out_that_is_a_file_is_exit_3(split3, tmp_path, overwrite):
    """export-inputs --out FILE [--overwrite]: exit 3 naming the file (was a FileExistsError
    traceback with --overwrite, and advice to pass --overwrite without it)."""
    f = tmp_path / "taken"
    f.write_text("not a folder")
    rc, _, err = lcad_bench("export-inputs", "--split", str(split3), "--out", str(f), "-q",
                            *(["--overwrite"] if overwrite else []))  # fmt: skip
    assert rc == ExitCode.MISSING and "Traceback" not in err, err[-2000:]
    assert f"cannot write {f}" in err and "--out must be a folder" in err
    assert f.read_text() == "not a folder"


def test_export_inputs_write_failure_is_exit_3(split3, tmp_path):
    """A manifest that cannot be written (here: a folder in its place) is exit 3 naming it."""
    out = tmp_path / "exp"
    (out / "manifest.jsonl").mkdir(parents=True)
    rc, _, err = lcad_bench(
        "export-inputs", "--split", str(split3), "--out", str(out), "--overwrite", "-q"
    )
    assert rc == ExitCode.MISSING and "Traceback" not in err, err[-2000:]
    assert f"cannot write {out / 'manifest.jsonl'}" in err


def test_unwritable_out_is_exit_3(split3, tmp_path, monkeypatch, cli, capsys):
    out = tmp_path / "ro"
    if os.geteuid() != 0:
        out.mkdir()
        out.chmod(0o500)
    else:  # root writes anywhere: make the folder check fail as it would for a user
        monkeypatch.setattr(rundir.os, "access", lambda *a, **k: False)
    try:
        rc = cli(["evaluate", "--model", "gray", "--split", str(split3), "--out", str(out), "-q"])
    finally:
        if out.exists():
            out.chmod(0o700)
    assert rc == ExitCode.MISSING and "choose a writable --out" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# stored ground truths


def test_tampered_ground_truth_is_remade(split3, tmp_path):
    out = tmp_path / "run"
    ref = evaluate(create_model("gray"), split3, out, suite=psnr_suite(), quiet=True)
    gt = out / rundir.gt_relpath("a")
    good = gt.read_bytes()
    gt.write_bytes(png(np.zeros((256, 256, 3), np.uint8)))  # a valid PNG, but not the GT
    again = evaluate(create_model("gray"), split3, out, suite=psnr_suite(), quiet=True)
    assert gt.read_bytes() == good
    assert [c.mean for c in again.aggregates] == [c.mean for c in ref.aggregates]


def test_ground_truth_of_a_changed_source_is_not_reused(tmp_path):
    """A split rebuilt with another picture under the same image key: the stored GT was made from
    the old source (its sha256 is in gt/index.jsonl), so it is made again."""
    from PIL import Image

    out = tmp_path / "run"
    from rel_helpers import record

    s1 = write_split_of(tmp_path / "s1", [record("a", png(rgb(0)))])
    evaluate(create_model("gray"), s1, out, suite=psnr_suite(), quiet=True)
    s2 = write_split_of(tmp_path / "s2", [record("a", png(rgb(7)))])
    evaluate(create_model("gray"), s2, out, suite=psnr_suite(), quiet=True)
    from lcad_bench.imaging import to_eval_geometry

    want = np.asarray(to_eval_geometry(Image.fromarray(rgb(7))))
    assert np.array_equal(np.asarray(Image.open(out / rundir.gt_relpath("a")).convert("RGB")), want)
    idx = rundir.read_gt_index(out)["a"]
    import hashlib

    assert idx["source_sha256"] == hashlib.sha256(png(rgb(7))).hexdigest()


def test_unreadable_cached_output_is_counted_once_as_failed(split3, tmp_path):
    """A cached output whose bytes match its index line but do not decode fails its sample
    (naming the file); the run log counts it as failed only, not also as cached."""
    import hashlib

    out = tmp_path / "run"
    evaluate(create_model("gray"), split3, out, suite=psnr_suite(), quiet=True)
    first = rows(out)[0]
    n, target = len(rows(out)), out / first["output_path"]
    idx = next(out.glob("outputs/*/index.jsonl"))
    rec = next(
        r
        for r in map(json.loads, idx.read_text().splitlines())
        if r["sha256"] == first["output_sha256"]
    )
    garbage = b"\x89PNG garbage"
    target.write_bytes(garbage)
    with idx.open("a") as f:  # the index agrees with the file: only decoding can tell
        f.write(json.dumps(rec | {"sha256": hashlib.sha256(garbage).hexdigest()}) + "\n")
    evaluate(create_model("gray"), split3, out, suite=psnr_suite(), quiet=True)
    last = run_log(out)[-1]
    assert (last["cached"], last["computed"], last["failed"]) == (n - 1, 0, 1)
    bad = [r for r in rows(out) if r["error"]]
    assert (
        len(bad) == 1
        and str(target) in bad[0]["error"]
        and "delete it to recompute" in bad[0]["error"]
    )


# --------------------------------------------------------------------------------------------
# names, permissions


def test_file_names_are_collision_free_and_checked():
    keys = ["cat/1", "cat_1", "cat 1", "cat#1", "CAT_1", "cat\\1", "a" * 200, "a" * 201, "é", "e"]
    assert len({rundir.gt_relpath(k) for k in keys}) == len(keys)
    outs = [rundir.output_relpath("c" * 64, "complete", k, s) for k in keys for s in (0, 1)]
    assert len(set(outs)) == len(outs)
    assert all(p.startswith("gt/") and ".." not in p for p in map(rundir.gt_relpath, keys))
    with pytest.raises(LcadBenchError, match="would share a file name.*bug") as ei:
        rundir.require_unique(["gt/x.png", "gt/y.png", "gt/x.png"], "ground truths")
    assert ei.value.exit_code == ExitCode.BUG


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_files_follow_the_process_umask(tmp_path, umask):
    from rel_helpers import record

    old = os.umask(umask)
    try:
        split = write_split_of(tmp_path / "split", [record("a", png(rgb(0)))])
        evaluate(create_model("gray"), split, tmp_path / "run", suite=psnr_suite(), quiet=True)
    finally:
        os.umask(old)
    want_f, want_d = 0o666 & ~umask, 0o777 & ~umask
    paths = [split, *split.rglob("*"), tmp_path / "run", *(tmp_path / "run").rglob("*")]
    for p in paths:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (want_d if p.is_dir() else want_f), f"{p}: {oct(mode)}"


def test_safe_join_refuses_escapes_and_link_loops(tmp_path):
    """The one rule for paths read from files (fileio.safe_join; rundir and the split reader use
    it): inside the root or None, never an exception (a link loop raised RuntimeError before)."""
    from lcad_bench.fileio import safe_join

    root = tmp_path / "run"
    (root / "outputs").mkdir(parents=True)
    (root / "outputs" / "a.png").write_bytes(b"x")
    (root / "loop").symlink_to("loop")
    (root / "out").symlink_to(tmp_path)
    assert safe_join(root, "outputs/a.png") == (root / "outputs" / "a.png").resolve()
    for rel in (
        "/etc/passwd",
        "outputs/../../x",
        "",
        "a\0b",
        None,
        3,
        "loop/x",
        "out/elsewhere.png",
    ):
        assert safe_join(root, rel) is None, rel
    assert rundir.safe_join is safe_join
