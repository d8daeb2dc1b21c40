"""Summarize run folders written by the real runner (gray and text-tint on a tiny split)."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from lcad_bench.evaluation.suite import MetricSuite


class PsnrSuite(MetricSuite):
    """PSNR per pair (numpy only), with display metadata like lcad_bench.metrics records."""

    names = ["psnr"]
    distribution_names: list[str] = []

    def __init__(self):
        self.skipped = {"lpips": "weights not present (test)"}

    def per_sample(self, items, preds, gts, preps):
        out = []
        for p, g in zip(preds, gts):
            mse = np.mean((p.astype(np.float64) - g.astype(np.float64)) ** 2)
            out.append({"psnr": 100.0 if mse == 0 else 10 * np.log10(255**2 / mse)})
        return out

    def metadata(self):
        return {
            "psnr": {
                "backend": "numpy",
                "higher_is_better": True,
                "display_name": "PSNR",
                "decimals": 2,
            }
        }


def _png(arr):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


CAPTIONS = ("a red car on a green field", "a car parked on the grass")


def make_tiny_split(out, n_images=2, size=(48, 64), captions=CAPTIONS):
    """A split of synthetic images (a red box on a green field), two captions each."""
    from lcad_bench.fileio import utc_now
    from lcad_bench.protocol import protocol_settings
    from lcad_bench.splits import Manifest, PairRecord, write_split
    from lcad_bench.text.extract import get_extractor
    from lcad_bench.text.levels import controlled_levels, natural_level

    ex = get_extractor()
    recs = []
    h, w = size
    for i in range(n_images):
        arr = np.zeros((h, w, 3), np.uint8)
        arr[...] = (40, 150, 50)
        arr[8 + i : 30 + i, 10:40] = (210, 30, 30)
        data = _png(arr)
        for k, cap in enumerate(captions):
            a = ex.analyse(cap)
            pid = f"img{i:03d}#{k}"
            recs.append(PairRecord(
                pair_id=pid, source="synthetic", image_key=f"img{i:03d}", image_id=str(i), image_path=None,
                image_bytes=data, image_sha256=hashlib.sha256(data).hexdigest(), width=w, height=h, caption=cap,
                caption_index=k, colour_phrases=a.phrases, natural_level=natural_level(a).level,
                descriptions=controlled_levels(a, pair_id=pid).as_dict(), partial_kept_phrase_ids=(), instances=(),
            ))  # fmt: skip
    write_split(
        out,
        recs,
        Manifest(
            split="tiny",
            builder={"name": "test", "version": "1"},
            created_at=utc_now(),
            embed_images=True,
            protocol=protocol_settings(),
        ),
        overwrite=True,
    )
    return out


def test_real_runner_runs_summarize_and_render(tmp_path, monkeypatch, app_path, plain):
    pytest.importorskip("spacy")
    from lcad_bench.leaderboard.summarize import summarize
    from streamlit.testing.v1 import AppTest

    from lcad_bench.evaluation.runner import evaluate
    from lcad_bench.models import create_model

    split = make_tiny_split(tmp_path / "split")
    results = {}
    for name in ("gray", "text-tint"):
        results[name] = evaluate(
            create_model(name),
            split,
            tmp_path / "runs" / name,
            suite=PsnrSuite(),
            levels=["complete", "sparse"],
            quiet=True,
        )
    s = summarize([tmp_path / "runs"], tmp_path / "board")
    assert s.warnings == [] and sorted(r["model"] for r in s.runs) == ["gray", "text-tint"]
    df = s.frame
    gray = results["gray"]
    cell = next(c for c in gray.aggregates if c.level == "sparse" and c.metric == "psnr")
    row = df[(df["model"] == "gray") & (df["level"] == "sparse") & (df["metric"] == "psnr")].iloc[0]
    assert row["value"] == cell.mean and row["ci_low"] == cell.ci_low and row["n"] == cell.n_pairs
    # two of the four levels: a partial run, ranked only against runs on the same subset
    assert not row["rankable"] and row["partial"] == "levels complete, sparse"
    assert {r["not_rankable_reason"] for r in s.runs} == {"levels complete, sparse"}
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "board"))
    at = AppTest.from_file(app_path, default_timeout=30).run()
    assert not at.exception
    assert plain(at.subheader[0].value) == "Partial runs (levels complete, sparse) · model's own L*"
    at.sidebar.multiselect(key="lb_levels").set_value(["sparse"]).run()
    table = at.dataframe[0].value
    gray = table[table["run"].str.startswith("gray")].iloc[0]
    assert (
        gray["psnr · sparse"] == pytest.approx(cell.mean) and gray["rank"] == 1 and len(table) == 1
    )
    # text-tint pastes the input L* back (luminance_replaced): ranked in its own group
    assert at.dataframe[1].value["run"].str.startswith("text-tint").tolist() == [True]
    at.switch_page("app_pages/samples.py").run()
    assert not at.exception and len(at.get("image")) == 4  # gray input, GT, two outputs


def test_shard_and_merge_run_opens_in_the_sample_viewer(tmp_path, monkeypatch, app_path):
    """``--shard`` runs merged into one folder: the board's sample viewer shows the merged run's
    outputs and ground truths (they are linked into the merged folder, inside it)."""
    from lcad_bench.leaderboard.summarize import summarize
    from streamlit.testing.v1 import AppTest

    from lcad_bench.evaluation import rundir
    from lcad_bench.evaluation.merge import merge_runs
    from lcad_bench.evaluation.runner import evaluate
    from lcad_bench.models import create_model

    split = make_tiny_split(tmp_path / "split", n_images=3)
    model = create_model("text-tint")
    shards = [tmp_path / "shards" / f"s{i}" for i in range(2)]
    for i, d in enumerate(shards):
        evaluate(
            model,
            split,
            d,
            suite=PsnrSuite(),
            levels=["complete", "sparse"],
            shard=(i, 2),
            quiet=True,
        )
    merged = merge_runs(shards, tmp_path / "runs" / "text-tint", suite=PsnrSuite())
    evaluate(create_model("gray"), split, tmp_path / "runs" / "gray", suite=PsnrSuite(),
             levels=["complete", "sparse"], quiet=True)  # fmt: skip
    run = rundir.open_run(tmp_path / "runs" / "text-tint")
    rows = run.samples()
    assert len(rows) == merged.counts["samples"] == 3 * 2 * 2
    for r in rows:  # every output and ground truth is inside the merged folder
        assert ".." not in r["output_path"] and run.file(r["output_path"]).is_file()
        assert run.gt_file(r["image_key"]).is_file()
    s = summarize([tmp_path / "runs"], tmp_path / "board")
    assert s.warnings == [] and {r["model"] for r in s.runs} == {"gray", "text-tint"}
    assert all(
        r["partial"] == ["levels complete, sparse"] for r in s.runs
    )  # merged: no longer a shard
    monkeypatch.setenv("LCAD_BENCH_LEADERBOARD", str(tmp_path / "board"))
    at = AppTest.from_file(app_path, default_timeout=30).run()
    at.switch_page("app_pages/samples.py").run()
    assert not at.exception and not at.warning
    images = at.get("image")
    assert len(images) == 4  # gray input, ground truth, the gray run's and the merged run's output
    assert not any("not found" in i.value for i in at.info)


def test_limit_and_levels_runs_get_their_own_ids(tmp_path):
    """The issue's collision: a --limit or --levels run took the full run's id and summarize kept
    one of them. Now every run keeps its own id and row; the merged shards are the full run."""
    from lcad_bench.leaderboard.summarize import summarize

    from lcad_bench.evaluation.merge import merge_runs
    from lcad_bench.evaluation.runner import evaluate
    from lcad_bench.models import create_model

    split = make_tiny_split(tmp_path / "split", n_images=2)
    model = create_model("text-tint")
    kw = {"suite": PsnrSuite(), "quiet": True}
    full = evaluate(model, split, tmp_path / "runs" / "full", **kw)
    limited = evaluate(model, split, tmp_path / "runs" / "limit1", limit=1, **kw)
    levels = evaluate(
        model, split, tmp_path / "runs" / "levels", levels=["sparse", "complete"], **kw
    )
    again = evaluate(model, split, tmp_path / "other" / "full-again", **kw)
    ids = {full.run_id, limited.run_id, levels.run_id}
    assert len(ids) == 3 and again.run_id == full.run_id and full.run_id.startswith("text-tint-")
    s = summarize([tmp_path / "runs"], tmp_path / "board")
    assert s.warnings == [] and {e["run_id"] for e in s.runs} == ids
    part = {e["run_id"]: e["partial"] for e in s.runs}
    assert part == {
        full.run_id: [],
        limited.run_id: ["limit 1"],
        levels.run_id: ["levels complete, sparse"],
    }
    shards = [
        evaluate(model, split, tmp_path / "shards" / f"s{i}", shard=(i, 2), **kw) for i in range(2)
    ]
    assert shards[0].run_id == full.run_id + "-shard0of2"
    merged = merge_runs(
        [tmp_path / "shards" / f"s{i}" for i in range(2)], tmp_path / "merged", suite=PsnrSuite()
    )
    assert merged.run_id == full.run_id
