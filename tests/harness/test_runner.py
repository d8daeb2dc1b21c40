"""The evaluation runner: outputs, caching, bad model output, results."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from simple_suite import SimpleSuite

from lcad_bench.errors import ExitCode
from lcad_bench.evaluation.plan import in_shard, parse_shard
from lcad_bench.evaluation.runner import SamplesFailedError, evaluate
from lcad_bench.models import Colorizer, SampleFailure, create_model
from lcad_bench.protocol import pair_seed


def test_gray_run_writes_results(tiny_split, tmp_path):
    res = evaluate(
        create_model("gray"), tiny_split, tmp_path / "run", suite=SimpleSuite(), quiet=True
    )
    samples = pq.read_table(tmp_path / "run" / "samples.parquet").to_pylist()
    # 8 pairs x (complete, sparse, none) + partial for the 4 captions with two hue phrases
    assert {s["level"] for s in samples} == {"complete", "partial", "sparse", "none"}
    assert len(samples) == res.counts["samples"] == 8 * 3 + 4
    assert all(s["error"] is None and s["output_sha256"] for s in samples)
    cell = {(c.level, c.metric): c for c in res.aggregates}
    assert (
        cell[("complete", "psnr_np")].n_pairs == 8 and cell[("complete", "psnr_np")].n_images == 4
    )
    assert cell[("none", "psnr_np")].mean == pytest.approx(
        cell[("complete", "psnr_np")].mean
    )  # gray ignores text
    r = json.loads((tmp_path / "run" / "results.json").read_text())
    assert r["schema_version"] == 2 and r["model"]["name"] == "gray" and r["split"]["content_hash"]
    assert r["seeds"]["seed_rule"] and r["environment"]["python"]
    # the GT is stored once per image at 256x256
    from PIL import Image

    gts = sorted((tmp_path / "run" / "gt").glob("*.png"))
    assert len(gts) == 4 and Image.open(gts[0]).size == (256, 256)


def test_second_run_uses_the_cache(tiny_split, tmp_path):
    calls = []

    class Counting(Colorizer):
        name = "counting"

        def colorize(self, batch):
            calls.extend(r.key for r in batch)
            return [r.gray for r in batch]

    evaluate(Counting(), tiny_split, tmp_path / "r", suite=SimpleSuite(), quiet=True)
    n = len(calls)
    evaluate(Counting(), tiny_split, tmp_path / "r", suite=SimpleSuite(), quiet=True)
    assert len(calls) == n == 28


class Bad(Colorizer):
    name = "bad"

    def __init__(self, mode):
        self.mode = mode

    def colorize(self, batch):
        outs = []
        for r in batch:
            if r.pair_id != "img001#0":
                outs.append(r.gray)
            elif self.mode == "shape":
                outs.append(r.gray[:10])
            elif self.mode == "nan":
                outs.append(np.full(r.gray.shape, np.nan, np.float32))
            elif self.mode == "dtype":
                outs.append(r.gray.astype(np.float64) / 255)
            elif self.mode == "raise":
                raise RuntimeError("CUDA out of memory (simulated)")
        return outs


@pytest.mark.parametrize(
    "mode,needle",
    [
        ("shape", "shape"),
        ("nan", "NaN"),
        ("dtype", "dtype float64"),
        ("raise", "RuntimeError: CUDA out of memory"),
    ],
)
def test_bad_model_output_recorded(tiny_split, tmp_path, mode, needle):
    res = evaluate(
        Bad(mode), tiny_split, tmp_path / "r", suite=SimpleSuite(), quiet=True, batch_size=1
    )
    rows = pq.read_table(tmp_path / "r" / "samples.parquet").to_pylist()
    bad = [r for r in rows if r["error"]]
    assert {r["pair_id"] for r in bad} == {"img001#0"} and all(needle in r["error"] for r in bad)
    assert res.counts["failed"] == len(bad) == 4  # img001#0 at complete, partial, sparse, none
    assert any("failed" in w for w in res.warnings)
    cell = {(c.level, c.metric): c for c in res.aggregates}
    assert (
        cell[("complete", "psnr_np")].n_failed == 1 and cell[("complete", "psnr_np")].n_pairs == 7
    )
    with pytest.raises(SamplesFailedError) as ei:
        evaluate(
            Bad(mode),
            tiny_split,
            tmp_path / "strict",
            suite=SimpleSuite(),
            quiet=True,
            batch_size=1,
            strict=True,
        )
    assert ei.value.exit_code == ExitCode.SAMPLES_FAILED and "img001#0" in str(ei.value)


def test_missing_image_recorded(tmp_path):
    from tests_helpers_split import rewrite_without_bytes

    split = rewrite_without_bytes(tmp_path)
    res = evaluate(create_model("gray"), split, tmp_path / "run", suite=SimpleSuite(), quiet=True)
    rows = pq.read_table(tmp_path / "run" / "samples.parquet").to_pylist()
    assert res.counts["failed"] == len([r for r in rows if r["error"]]) > 0
    assert all("not found" in r["error"] for r in rows if r["error"])


def test_corrupt_cached_output_is_recomputed(tiny_split, tmp_path):
    evaluate(create_model("gray"), tiny_split, tmp_path / "r", suite=SimpleSuite(), quiet=True)
    png = sorted((tmp_path / "r" / "outputs").rglob("*.png"))[0]
    png.write_bytes(b"garbage")
    evaluate(create_model("gray"), tiny_split, tmp_path / "r", suite=SimpleSuite(), quiet=True)
    from PIL import Image

    assert Image.open(png).size == (256, 256)


def test_shards_partition_and_seeds():
    ids = [f"img{i}#0" for i in range(200)]
    parts = [[p for p in ids if in_shard(p, (i, 3))] for i in range(3)]
    assert sorted(sum(parts, [])) == sorted(ids) and all(parts)
    assert parse_shard("1/4") == (1, 4)
    import hashlib

    assert pair_seed(0, "x#0", 1) == int.from_bytes(hashlib.sha256(b"0|x#0|1").digest()[:4], "big")


class FailsFirstSeed(Colorizer):
    """Fails seed 0 (only) of one pair; its seed 1 succeeds."""

    name = "fails-first-seed"

    def colorize(self, batch):
        bad = ("img001#0", pair_seed(0, "img001#0", 0))
        return [SampleFailure("no output for seed 0") if (r.pair_id, r.seed) == bad else r.gray
                for r in batch]  # fmt: skip


def test_fid_real_set_has_every_pair_with_a_successful_output(tiny_split, tmp_path):
    """docs/protocol.md#fid: real = the GT of each pair with a successful output, once. A pair
    whose seed 0 failed but seed 1 succeeded keeps its GT in the real set (at its first
    successful seed), and the statistics equal those of the explicit sets."""
    from tiny_fid import features, tiny_suite

    from lcad_bench.evaluation.inputs import prepare
    from lcad_bench.evaluation.rundir import load_distribution_state
    from lcad_bench.splits import load_split

    res = evaluate(FailsFirstSeed(), tiny_split, tmp_path / "r", suite=tiny_suite(), n_seeds=2,
                   quiet=True)  # fmt: skip
    fid = {d["level"]: d for d in res.distribution_metrics}
    assert res.counts["failed"] == 4  # seed 0 of img001#0 at each of its 4 levels
    assert fid["complete"]["n_fake"] == 15 and fid["complete"]["n_real"] == 8
    assert fid["sparse"]["n_real"] == fid["none"]["n_real"] == 8 and fid["partial"]["n_real"] == 4
    split = load_split(tiny_split)
    gts = {r.pair_id: prepare(split, r, tmp_path / "scratch").gt for r in split.records}
    real = load_distribution_state(tmp_path / "r")["complete"]["fid"]["real"]
    want = features(np.stack([gts[p] for p in sorted(gts)]))
    np.testing.assert_allclose(real["total"], want.sum(0), rtol=1e-12, atol=1e-12)


class NanSuite(SimpleSuite):
    """psnr_np is NaN for one sample (a metric that misbehaves on it)."""

    def per_sample(self, items, preds, gts, preps):
        out = super().per_sample(items, preds, gts, preps)
        for it, row in zip(items, out):
            if (it.record.pair_id, it.level) == ("img001#0", "complete"):
                row["psnr_np"] = float("nan")
        return out


def test_nan_metric_values_are_counted_and_named_not_dropped_silently(tiny_split, tmp_path):
    res = evaluate(create_model("gray"), tiny_split, tmp_path / "r", suite=NanSuite(), quiet=True)
    cell = {(c.level, c.metric): c for c in res.aggregates}
    c = cell[("complete", "psnr_np")]
    assert c.n_nonfinite == 1 and c.n_pairs == 7 and c.n_failed == 0 and np.isfinite(c.mean)
    assert (
        cell[("complete", "mean_out")].n_nonfinite == 0
        and cell[("complete", "mean_out")].n_pairs == 8
    )
    assert cell[("sparse", "psnr_np")].n_nonfinite == 0
    assert any(
        "psnr_np at level complete: 1 samples had a NaN/inf value" in w for w in res.warnings
    )
    on_disk = json.loads((tmp_path / "r" / "results.json").read_text())
    assert {(a["level"], a["metric"]): a["n_nonfinite"] for a in on_disk["aggregates"]}[
        ("complete", "psnr_np")
    ] == 1
