"""The run folder as one format: typed samples, per-level summaries in results.json, derived
cells, CWHR scored only on described colours, and merges that keep every value."""

from __future__ import annotations

import numpy as np
import pytest
from harness_tiny_split import make_tiny_split

from lcad_bench.evaluation import rundir
from lcad_bench.evaluation.merge import merge_runs
from lcad_bench.evaluation.runner import evaluate
from lcad_bench.evaluation.suite import ProtocolSuite
from lcad_bench.metrics import get_metric
from lcad_bench.models import Colorizer, create_model


def suite(*names):
    return ProtocolSuite({n: get_metric(n) for n in names}, {})


class GroundTruthCheat(Colorizer):
    """Test-only model that returns the exact ground truth (it reads the split itself), so PSNR
    is capped and SSIM is 1 on every sample."""

    def __init__(self, split: str) -> None:
        from lcad_bench.splits import load_split

        self.split = load_split(split)
        self.by_id = {r.pair_id: r for r in self.split.records}

    def colorize(self, batch):
        from lcad_bench.imaging import to_eval_geometry

        return [
            np.asarray(to_eval_geometry(self.split.load_image(self.by_id[r.pair_id])))
            for r in batch
        ]

    def describe(self):
        return {"name": "gt-cheat", "version": "1", "config": {}}


def test_caption_starting_with_a_bracket_survives_merge(tmp_path):
    """Descriptions are strings in a typed column: text that looks like JSON stays text."""
    caps = ('["draft"] a red car on a green field', '{"x": 1} a car parked on the grass')
    split = make_tiny_split(tmp_path / "split", n_images=3, captions=caps)
    model = create_model("gray")
    full = evaluate(
        model, split, tmp_path / "full", suite=suite("psnr"), levels=["complete"], quiet=True
    )
    for i in range(2):
        evaluate(
            model,
            split,
            tmp_path / f"s{i}",
            suite=suite("psnr"),
            levels=["complete"],
            shard=(i, 2),
            quiet=True,
        )
    merge_runs([tmp_path / "s0", tmp_path / "s1"], tmp_path / "merged", suite=suite("psnr"))
    a = sorted((r["pair_id"], r["description"]) for r in rundir.read_samples(tmp_path / "full"))
    b = sorted((r["pair_id"], r["description"]) for r in rundir.read_samples(tmp_path / "merged"))
    assert a == b and {d for _, d in a} == set(caps)
    assert full.counts["samples"] == 6


def test_summaries_reach_results_json(tmp_path, tiny_split):
    """Per-sample metrics' summaries (PSNR n_capped, SSIM ssim_suspect) are in results.json, and
    the SSIM warning names metric and level."""
    res = evaluate(GroundTruthCheat(str(tiny_split)), tiny_split, tmp_path / "run",
                   suite=suite("psnr", "ssim"), levels=["complete", "sparse"], quiet=True)  # fmt: skip
    on_disk = rundir.load_results(tmp_path / "run")
    summ = {(s["level"], s["metric"]): s for s in on_disk.summaries}
    assert summ[("complete", "psnr")]["n_capped"] == summ[("complete", "psnr")]["n"] == 8
    assert summ[("sparse", "ssim")]["ssim_suspect"] is True
    assert "ssim_suspect (ssim, level complete)" in res.warnings
    # the boolean per-sample column stays per sample: no cell for it
    assert not any(c.metric == "psnr_capped" for c in res.aggregates)
    rows = rundir.read_samples(tmp_path / "run")
    assert all(r["psnr_capped"] is True for r in rows)


def test_delta_cf_is_a_derived_cell_with_an_interval(tmp_path, tiny_split):
    res = evaluate(create_model("text-tint"), tiny_split, tmp_path / "run", suite=suite("colourfulness"),
                   levels=["complete"], quiet=True)  # fmt: skip
    rows = rundir.read_samples(tmp_path / "run")
    want = abs(np.mean([r["cf_pred"] for r in rows]) - np.mean([r["cf_gt"] for r in rows]))
    cell = {c.metric: c for c in res.aggregates}
    assert cell["delta_cf"].mean == pytest.approx(want, abs=1e-12)
    assert cell["delta_cf"].ci_low <= cell["delta_cf"].mean <= cell["delta_cf"].ci_high
    assert cell["cf_abs_delta"].mean == pytest.approx(
        np.mean([r["cf_abs_delta"] for r in rows]), abs=1e-12
    )


def test_cwhr_scores_only_the_colours_the_description_names(tmp_path, tiny_split):
    """The tiny split's 'a red car' is linked to the car mask: it is a unit at complete, never at
    sparse or none (the text no longer names a colour)."""
    res = evaluate(
        GroundTruthCheat(str(tiny_split)),
        tiny_split,
        tmp_path / "run",
        suite=suite("cwhr"),
        quiet=True,
    )
    rows = rundir.read_samples(tmp_path / "run")
    units = {
        lv: sum(len(r["cwhr_units"] or []) for r in rows if r["level"] == lv)
        for lv in ("complete", "sparse", "none")
    }
    assert units["complete"] == 4 and units["sparse"] == 0 and units["none"] == 0
    cell = {(c.level, c.metric): c for c in res.aggregates}
    assert cell[("complete", "cwhr_chromatic")].mean == 1.0  # the ground truth's car is red
    assert cell[("sparse", "cwhr_chromatic")].mean is None
    samples = {(s["level"], s["metric"]): s for s in res.summaries}
    assert (
        samples[("complete", "cwhr")]["n_chromatic"] == 4
        and samples[("sparse", "cwhr")]["n_cwhr_units"] == 0
    )


def test_samples_table_is_typed(tmp_path, tiny_split):
    evaluate(
        create_model("gray"),
        tiny_split,
        tmp_path / "run",
        suite=suite("psnr", "cwhr"),
        levels=["complete"],
        quiet=True,
    )
    import pyarrow.parquet as pq

    schema = pq.read_schema(tmp_path / "run" / rundir.SAMPLES_FILE)
    assert str(schema.field("seed").type) == "int64" and str(schema.field("psnr").type) == "double"
    assert str(schema.field("psnr_capped").type) == "bool"
    assert schema.field("cwhr_units").metadata == {b"lcad_bench.dtype": b"json"}


def test_output_and_gt_file_names_are_collision_free():
    names = {rundir.gt_relpath(k) for k in ("cat/1", "cat_1", "cat#1", "cat 1")}
    assert len(names) == 4
    outs = {rundir.output_relpath("c" * 64, "complete", p, 0) for p in ("a/1#0", "a_1#0", "a_1__0")}
    assert len(outs) == 3


class PhraseSpy(Colorizer):
    """A mask-aware model that records the phrase records it is given."""

    uses_instance_masks = True

    def __init__(self) -> None:
        self.seen: dict[str, tuple] = {}

    def colorize(self, batch):
        for r in batch:
            self.seen[(r.pair_id, r.level)] = r.phrases
        return [r.gray.copy() for r in batch]

    def describe(self):
        return {"name": "phrase-spy", "version": "1", "config": {}}


def test_models_never_see_colours_the_description_withholds(tmp_path, tiny_split):
    spy = PhraseSpy()
    evaluate(spy, tiny_split, tmp_path / "run", suite=suite("psnr"), quiet=True)
    complete = spy.seen[("img000#0", "complete")][0]
    assert complete["described"] and [c["canonical"] for c in complete["colours"]] == ["red"]
    for level in ("sparse", "none"):
        ph = spy.seen[("img000#0", level)][0]
        assert ph["described"] is False and "colours" not in ph and ph["object"]["head"] == "car"
