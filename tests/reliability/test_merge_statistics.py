"""``merge`` recomputes FID from the shards' saved statistics: no Inception weights are needed,
and a metric it cannot merge is named in the warnings, never dropped silently."""

from __future__ import annotations

import numpy as np
import pytest
from rel_helpers import lcad_bench, path_split, png, rgb

from lcad_bench.errors import ExitCode
from lcad_bench.evaluation import rundir
from lcad_bench.evaluation.merge import merge_runs
from lcad_bench.evaluation.runner import evaluate
from lcad_bench.evaluation.suite import ProtocolSuite
from lcad_bench.metrics import get_metric
from lcad_bench.metrics.fid import FID
from lcad_bench.models import create_model

W8 = np.random.default_rng(1).normal(size=(6, 8))


def features(images):
    """An injected 8-d 'network' (per-channel moments through a fixed random map)."""
    x = images.astype(np.float64) / 255.0
    return np.tanh(np.concatenate([x.mean((1, 2)), x.std((1, 2))], 1) @ W8)


def suite():
    return ProtocolSuite({"psnr": get_metric("psnr"), "fid": FID(extractor=features, dims=8)}, {},
                         {"fid": lambda: FID(extractor=features, dims=8)})  # fmt: skip


@pytest.fixture
def split8(tmp_path):
    return path_split(tmp_path / "data", {f"i{k}": png(rgb(k)) for k in range(8)})


def test_merge_recomputes_fid_without_weights(split8, tmp_path, monkeypatch):
    """Shards made with an injected extractor; merge builds its own suite (suite=None) on a
    machine with an empty torch cache and still gives the FID of one full run."""
    model = create_model("text-tint")
    full = evaluate(model, split8, tmp_path / "full", suite=suite(), quiet=True)
    for i in range(2):
        evaluate(model, split8, tmp_path / f"s{i}", suite=suite(), shard=(i, 2), quiet=True)
    empty = tmp_path / "empty-torch-home"
    empty.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(empty))
    import lcad_bench.metrics.fid as fid_mod

    def no_weights(*a, **k):
        raise AssertionError("merge must not load the Inception network")

    monkeypatch.setattr(fid_mod, "InceptionFeatures", no_weights)
    merged = merge_runs([tmp_path / "s0", tmp_path / "s1"], tmp_path / "merged")  # suite=None
    fa = {d["level"]: d["value"] for d in full.distribution_metrics if d["metric"] == "fid"}
    fb = {d["level"]: d["value"] for d in merged.distribution_metrics if d["metric"] == "fid"}
    assert fa.keys() == fb.keys() == {"complete", "sparse", "none"}
    for lv in fa:
        assert fb[lv] == pytest.approx(fa[lv], rel=1e-9, abs=1e-9)
    assert not any("not recomputed" in w for w in merged.warnings)
    rundir.open_run(tmp_path / "merged")  # the merged folder is consistent (sha256s recorded)


def test_unmergeable_metric_is_named(split8, tmp_path):
    """A shard's distribution metric this lcad-bench does not know, and a shard whose saved
    statistics are gone: both are named in the merged warnings."""
    from lcad_bench.evaluation.suite import MetricSuite

    class Counting(MetricSuite):
        names = ["mean_out"]
        skipped: dict = {}

        def per_sample(self, items, preds, gts, preps):
            return [{"mean_out": float(p.mean())} for p in preds]

        def compute_distribution(self):
            return {"none": {"count_metric": {"value": 1.0}}}

        def metadata(self):
            return {"mean_out": {}, "count_metric": {}}

    model = create_model("gray")
    for i in range(2):
        evaluate(model, split8, tmp_path / f"s{i}", suite=Counting(), shard=(i, 2), quiet=True)
    merged = merge_runs([tmp_path / "s0", tmp_path / "s1"], tmp_path / "m")
    assert any("not recomputed by merge" in w and "count_metric" in w for w in merged.warnings)
    # FID shards, one of which lost its statistics file
    for i in range(2):
        evaluate(model, split8, tmp_path / f"f{i}", suite=suite(), shard=(i, 2), quiet=True)
    (tmp_path / "f1" / rundir.DIST_STATE_FILE).unlink()
    res = rundir.load_results(tmp_path / "f1")
    rundir.write_results(tmp_path / "f1", res.model_copy(update={"distribution_state": {}}))
    merged = merge_runs([tmp_path / "f0", tmp_path / "f1"], tmp_path / "fm", suite=suite())
    fid = {d["level"]: d for d in merged.distribution_metrics if d["metric"] == "fid"}
    assert all(d["value"] is None and "no saved statistics" in d["error"] for d in fid.values())
    assert any("fid at level" in w and "not merged" in w for w in merged.warnings)


def test_saved_statistics_are_byte_stable(split8, tmp_path, monkeypatch):
    """The FID statistics file has the same bytes (and recorded sha256) whenever it is written:
    a rerun an hour later, reusing every output, writes a results.json equal to the first one
    apart from created_at."""
    import json
    import time

    out = tmp_path / "run"
    evaluate(create_model("text-tint"), split8, out, suite=suite(), quiet=True)
    first = json.loads((out / "results.json").read_text())
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    evaluate(create_model("text-tint"), split8, out, suite=suite(), quiet=True)
    again = json.loads((out / "results.json").read_text())
    for r in (first, again):
        r.pop("created_at")
    assert again == first and first["distribution_state"]["sha256"]


def test_merging_limited_shards_is_refused(split8, tmp_path):
    """--limit applies inside each shard: two `--shard i/2 --limit 2` runs cover up to 4 pairs, not
    the 2 of an unsharded `--limit 2` run, so merging them would put a run on the board next to
    runs over other pairs. The CLI refuses (exit 2) naming the shard and the fix."""
    for i in range(2):
        code, _out, err = lcad_bench("evaluate", "--model", "gray", "--split", str(split8), "--metrics", "psnr",
                                     "--shard", f"{i}/2", "--limit", "2", "--out", str(tmp_path / f"s{i}"), "-q")  # fmt: skip
        assert code == 0, err[-2000:]
    code, _out, err = lcad_bench(
        "merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "m")
    )
    assert code == ExitCode.USAGE and "Traceback" not in err, err[-2000:]
    assert f"{tmp_path / 's0'} ran with --limit 2" in err and "without --shard" in err
    assert not (tmp_path / "m" / rundir.RESULTS_FILE).exists()
    # the same shards without --limit merge
    for i in range(2):
        evaluate(
            create_model("gray"),
            split8,
            tmp_path / f"f{i}",
            suite=suite(),
            shard=(i, 2),
            quiet=True,
        )
    assert (
        merge_runs([tmp_path / "f0", tmp_path / "f1"], tmp_path / "fm", suite=suite()).split[
            "limit"
        ]
        is None
    )
