"""--shard i/n runs merged equal one full run (FID from gathered statistics)."""

from __future__ import annotations

import json

import pytest
from tiny_fid import features

from lcad_bench.errors import InputFormatError
from lcad_bench.evaluation.identity import unsharded_run_id
from lcad_bench.evaluation.merge import merge_runs
from lcad_bench.evaluation.runner import evaluate
from lcad_bench.evaluation.suite import ProtocolSuite
from lcad_bench.metrics import get_metric
from lcad_bench.metrics.fid import FID
from lcad_bench.models import Colorizer, create_model


def suite():
    return ProtocolSuite({"psnr": get_metric("psnr"), "ssim": get_metric("ssim"), "fid": FID(extractor=features, dims=8)},
                         {}, {"fid": lambda: FID(extractor=features, dims=8)})  # fmt: skip


def test_merge_equals_full_run(tiny_split, tmp_path):
    model = create_model("text-tint")
    full = evaluate(model, tiny_split, tmp_path / "full", suite=suite(), quiet=True)
    for i in range(3):
        evaluate(model, tiny_split, tmp_path / f"s{i}", suite=suite(), shard=(i, 3), quiet=True)
    merged = merge_runs([tmp_path / f"s{i}" for i in range(3)], tmp_path / "merged", suite=suite())
    a = {(c.level, c.metric): c for c in full.aggregates}
    b = {(c.level, c.metric): c for c in merged.aggregates}
    assert a.keys() == b.keys()
    for k in a:
        assert b[k].mean == pytest.approx(a[k].mean, abs=1e-12) and b[k].n_pairs == a[k].n_pairs
    fa = {d["level"]: d["value"] for d in full.distribution_metrics}
    fb = {d["level"]: d["value"] for d in merged.distribution_metrics}
    assert fa.keys() == fb.keys() and all(fb[k] == pytest.approx(fa[k], abs=1e-6) for k in fa)
    assert merged.counts["samples"] == full.counts["samples"]
    on_disk = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert on_disk["split"]["merged_from"] and on_disk["split"]["shard"] is None
    # the merged folder is self-contained: output paths point into it (linked from the shards)
    import pyarrow.parquet as pq

    row = pq.read_table(tmp_path / "merged" / "samples.parquet").to_pylist()[0]
    assert (tmp_path / "merged" / row["output_path"]).is_file()


def test_merge_refuses_missing_or_repeated_shards(tiny_split, tmp_path):
    model = create_model("gray")
    for i in range(2):
        evaluate(model, tiny_split, tmp_path / f"s{i}", suite=suite(), shard=(i, 3), quiet=True)
    with pytest.raises(InputFormatError, match="a shard is missing"):
        merge_runs([tmp_path / "s0", tmp_path / "s1"], tmp_path / "m", suite=suite())
    with pytest.raises(InputFormatError, match="missing or repeated"):
        merge_runs(
            [tmp_path / "s0", tmp_path / "s0", tmp_path / "s1"], tmp_path / "m", suite=suite()
        )
    evaluate(
        create_model("text-tint"),
        tiny_split,
        tmp_path / "other",
        suite=suite(),
        shard=(2, 3),
        quiet=True,
    )
    with pytest.raises(InputFormatError, match="model config"):
        merge_runs(
            [tmp_path / "s0", tmp_path / "s1", tmp_path / "other"], tmp_path / "m", suite=suite()
        )


class _Sharded(Colorizer):
    """A model whose name contains "-shard" (the merged run id must keep it)."""

    name = "my-sharded-shard1of2"

    def colorize(self, batch):
        return [r.gray for r in batch]


def test_merged_run_id_keeps_a_model_name_with_shard_in_it(tiny_split, tmp_path):
    full = evaluate(_Sharded(), tiny_split, tmp_path / "full", suite=suite(), quiet=True)
    for i in range(2):
        evaluate(
            _Sharded(), tiny_split, tmp_path / f"s{i}", suite=suite(), shard=(i, 2), quiet=True
        )
    shard0 = json.loads((tmp_path / "s0" / "results.json").read_text())["run_id"]
    assert shard0 == full.run_id + "-shard0of2"
    merged = merge_runs([tmp_path / "s0", tmp_path / "s1"], tmp_path / "m", suite=suite())
    assert merged.run_id == full.run_id  # the full run's id, model name intact
    assert unsharded_run_id("my-sharded-0123456789abcdef") == "my-sharded-0123456789abcdef"
