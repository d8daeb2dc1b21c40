"""Models that exit, are interrupted, fail a batch, hang or touch shared arrays: each is a
recorded result (or a clean stop that resumes), never a silent success or a wrong score."""

from __future__ import annotations

import time

import numpy as np
import pytest
from rel_helpers import lcad_bench, path_split, png, psnr_suite, rgb, rows, run_log
from rel_models import EditsInputs, FailsOnPair, ReusesBuffer, marker

from lcad_bench.errors import ExitCode
from lcad_bench.evaluation.runner import evaluate


@pytest.fixture
def split3(tmp_path):
    return path_split(tmp_path / "data", {k: png(rgb(i)) for i, k in enumerate("abc")})


def test_model_calling_exit_is_a_recorded_failure(split3, tmp_path, cli, capsys):
    """sys.exit(0) inside colorize used to end the process with exit 0 and nothing written."""
    out = tmp_path / "run"
    rc = cli(["evaluate", "--model", "rel_models:Exits", "--split", str(split3), "--out", str(out),
              "--metrics", "psnr", "--batch-size", "4", "-q"])  # fmt: skip
    assert rc == ExitCode.SAMPLES_FAILED
    bad = [r for r in rows(out) if r["error"]]
    assert {r["pair_id"] for r in bad} == {"b#0"}  # retried one by one: a and c are scored
    assert all("model called exit (SystemExit(0))" in r["error"] for r in bad)
    assert (out / "results.json").is_file()


def test_keyboard_interrupt_is_a_clean_stop_that_resumes(split3, tmp_path, cli, capsys):
    out, stop = tmp_path / "run", marker(tmp_path / "stop")
    args = ["evaluate", "--model", "rel_models:InterruptOnce", "--model-arg", f"stop_file={stop}",
            "--split", str(split3), "--out", str(out), "--metrics", "psnr", "--batch-size", "2", "-q"]  # fmt: skip
    assert cli(args) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
    assert not (out / "results.json").exists()
    done = len(next((out / "outputs").glob("*/index.jsonl")).read_text().splitlines())
    assert done == 4  # two batches of two written before the interrupt
    assert cli(args) == 0
    log = run_log(out)[-1]
    assert log["cached"] == 4 and log["computed"] == 9 - 4 and log["failed"] == 0


@pytest.mark.parametrize("batch_size", [1, 2, 4, 16])
def test_failure_count_does_not_depend_on_batch_size(split3, tmp_path, batch_size):
    """One bad pair fails alone: its batch is retried one sample at a time."""
    res = evaluate(FailsOnPair("b#0"), split3, tmp_path / "run", suite=psnr_suite(), batch_size=batch_size,
                   quiet=True)  # fmt: skip
    bad = [r for r in rows(tmp_path / "run") if r["error"]]
    assert res.counts["failed"] == 3 and {r["pair_id"] for r in bad} == {"b#0"}  # its 3 levels
    assert all("RuntimeError: cannot colorize b#0" in r["error"] for r in bad)


def test_sample_timeout_fails_a_hanging_sample(split3, tmp_path, cli):
    t = time.perf_counter()
    rc = cli(["evaluate", "--model", "rel_models:Hangs", "--split", str(split3), "--out", str(tmp_path / "run"),
              "--metrics", "psnr", "--sample-timeout", "0.5", "--batch-size", "1", "-q"])  # fmt: skip
    assert rc == ExitCode.SAMPLES_FAILED and time.perf_counter() - t < 20
    bad = [r for r in rows(tmp_path / "run") if r["error"]]
    assert len(bad) == 3 and {r["pair_id"] for r in bad} == {"b#0"}
    assert all(
        "did not return within 0.5 s (--sample-timeout 0.5 s per sample)" in r["error"] for r in bad
    )


def test_requests_are_read_only(split3, tmp_path):
    """A model that paints into its request's gray array would change the input of the pair's
    later levels (they share it) and the GT-derived arrays: it gets read-only arrays instead, and
    the attempt is a recorded failure with the fix."""
    res = evaluate(EditsInputs(), split3, tmp_path / "run", suite=psnr_suite(), quiet=True)
    rs = rows(tmp_path / "run")
    assert res.counts["failed"] == len(rs) == 9
    assert all("read-only" in r["error"] and "r.gray.copy()" in r["error"] for r in rs)


def test_the_scored_array_is_the_written_one(split3, tmp_path):
    """A model that refills one buffer: each output is copied when the model returns it, so the
    PNG on disk is exactly what was scored (PSNR recomputed from the files, by hand)."""
    from PIL import Image

    run = tmp_path / "run"
    evaluate(ReusesBuffer(), split3, run, suite=psnr_suite(), batch_size=1, quiet=True)
    from lcad_bench.evaluation.rundir import gt_relpath

    for r in rows(run):
        out = np.asarray(Image.open(run / r["output_path"]), dtype=np.float64)
        gt = np.asarray(Image.open(run / gt_relpath(r["image_key"])), dtype=np.float64)
        psnr = 10 * np.log10(255.0**2 / np.mean((out - gt) ** 2))
        assert r["psnr"] == pytest.approx(psnr, abs=1e-9)
        # and it is what the model meant for that request (its description length in R)
        gray = out[..., 1]
        assert np.array_equal(out[..., 0], (gray + len(r["description"])) % 256)


def test_constructor_error_is_a_usage_error(tmp_path):
    """`--model-arg strength=abc` is exit 2 with the model, the argument and the cause."""
    rc, _, err = lcad_bench("evaluate", "--model", "text-tint", "--model-arg", "strength=abc",
                            "--split", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"))  # fmt: skip
    assert rc == ExitCode.USAGE, err
    assert (
        "model 'text-tint' cannot be built with strength='abc'" in err
        and "could not convert" in err
    )
    assert "Traceback" not in err
