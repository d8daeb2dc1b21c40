"""Arguments that would run nothing, or something other than asked, are usage errors (exit 2)
with a message, before any model loads."""

from __future__ import annotations

import pytest
from rel_helpers import path_split, png, rgb, write_split_of

from lcad_bench.errors import ExitCode


@pytest.fixture
def split1(tmp_path):
    return path_split(tmp_path / "data", {"a": png(rgb(0))})


CASES = {
    "limit_negative": (["--limit", "-1"], "--limit must be a positive number of pairs, got -1"),
    "limit_zero": (["--limit", "0"], "--limit must be a positive number of pairs, got 0"),
    "n_seeds_zero": (["--n-seeds", "0"], "--n-seeds must be at least 1, got 0"),
    "batch_size_zero": (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    "duplicate_levels": (
        ["--levels", "sparse", "none", "sparse"],
        "--levels names sparse more than once",
    ),
    "sample_timeout_zero": (
        ["--sample-timeout", "0"],
        "--sample-timeout must be a positive number",
    ),
    "bad_shard": (["--shard", "3/3"], "--shard '3/3': expected i/n with 0 <= i < n"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_run_arguments_are_usage_errors(split1, tmp_path, cli, capsys, case):
    extra, needle = CASES[case]
    rc = cli(
        [
            "evaluate",
            "--model",
            "gray",
            "--split",
            str(split1),
            "--out",
            str(tmp_path / "run"),
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert rc == ExitCode.USAGE and needle in err and "Traceback" not in err
    assert not (tmp_path / "run" / "results.json").exists()


def test_empty_split_is_a_usage_error(tmp_path, cli, capsys):
    split = write_split_of(tmp_path / "empty", [])
    rc = cli(["evaluate", "--model", "gray", "--split", str(split), "--out", str(tmp_path / "run")])
    assert rc == ExitCode.USAGE and "the split holds no pairs" in capsys.readouterr().err


def test_levels_no_pair_defines_is_a_usage_error(split1, tmp_path, cli, capsys):
    rc = cli(["evaluate", "--model", "gray", "--split", str(split1), "--out", str(tmp_path / "run"),
              "--levels", "partial"])  # fmt: skip
    assert rc == ExitCode.USAGE and "no pair of" in capsys.readouterr().err


def test_exit_outside_a_model_call_is_reported_not_success(
    split1, tmp_path, cli, capsys, monkeypatch
):
    """A plug-in that calls exit() where the runner does not catch it (here: while describing
    itself) is exit 1 with a traceback, never exit 0 with nothing written."""
    from lcad_bench.baselines.gray import GrayColorizer

    def describe(self):
        raise SystemExit(0)

    monkeypatch.setattr(GrayColorizer, "describe", describe)
    rc = cli(
        ["evaluate", "--model", "gray", "--split", str(split1), "--out", str(tmp_path / "run")]
    )
    err = capsys.readouterr().err
    assert rc == ExitCode.BUG and "called exit(0)" in err
