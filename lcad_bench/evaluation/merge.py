"""``lcad-bench merge``: combine the run folders of ``--shard i/n`` runs into one complete run.

Checks that the shards belong to the same model configuration, split and protocol, that every
(pair, level, seed) appears exactly once, and (when the shards say how many there were) that all
n shards are present. Shards run with ``--limit`` are refused: the limit applies inside each
shard, so their union is no subset any other run covers (docs/evaluating.md#sharding-and-merging). The merged folder is an ordinary run folder: the shards' outputs and ground
truths are linked into it (hard links, copies across file systems), per-sample rows are
concatenated and re-aggregated, metric summaries are recomputed from the rows, and distribution
metrics (FID) are recomputed from the shards' saved sufficient statistics, which needs no
network weights. A metric that cannot be merged is reported, never dropped silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lcad_bench.errors import InputFormatError, UsageError
from lcad_bench.evaluation import rundir
from lcad_bench.evaluation.aggregate import aggregate, nonfinite_warnings
from lcad_bench.evaluation.identity import unsharded_run_id
from lcad_bench.fileio import utc_now


def merge_runs(shards: Sequence[str | Path], out: str | Path, suite: Any = None) -> rundir.Results:
    """Merge shard run folders into ``out`` and return the merged Results (``out`` is locked
    while it is written)."""
    if len(shards) < 1:
        raise UsageError("merge needs at least one shard run folder")
    outp = Path(out)
    runs = [rundir.open_run(p) for p in shards]
    first = runs[0].results
    for p, run in zip(shards, runs):
        r = run.results
        for what, a, b in (
            ("model config", r.model.get("config_hash"), first.model.get("config_hash")),
            ("split content hash", r.split.get("content_hash"), first.split.get("content_hash")),
            ("protocol", r.protocol, first.protocol),
            ("seeds", r.seeds, first.seeds),
        ):
            if a != b:
                raise InputFormatError(
                    f"{p}: its {what} differs from {shards[0]}'s; only shards of one run can be merged"
                )
    for p, run in zip(shards, runs):
        limit = run.results.split.get("limit")
        if limit is not None:
            raise UsageError(
                f"{p} ran with --limit {limit}: the limit applies inside each shard (its first {limit} pairs), so "
                f"merged limited shards cover up to {limit} pairs per shard, a subset no unsharded `--limit {limit}` "
                "run has, and the board would compare them as one; merge shards run without --limit, or run "
                f"`evaluate --limit {limit}` without --shard"
            )
    specs = [tuple(run.results.split.get("shard") or ()) for run in runs]
    if all(specs):
        n = specs[0][1]
        got = sorted(s[0] for s in specs)
        if any(s[1] != n for s in specs) or got != list(range(n)):
            raise InputFormatError(
                f"shards {sorted(specs)} are not exactly 0..{n - 1} of {n}: a shard is missing or repeated"
            )
    resolved = {Path(p).resolve() for p in shards}
    if outp.resolve() in resolved:
        raise UsageError(f"--out {outp} is one of the shards; merge into a new folder")
    with rundir.locked(outp, f"merge {' '.join(str(p) for p in shards)}"):
        return _merge_locked(runs, shards, outp, suite)


def _merge_locked(
    runs: list[rundir.Run], shards: Sequence[str | Path], outp: Path, suite: Any
) -> rundir.Results:
    from lcad_bench.evaluation.runner import summarize_levels
    from lcad_bench.evaluation.suite import build_suite

    first = runs[0].results
    rows: list[dict[str, Any]] = []
    gt_index: dict[str, dict[str, Any]] = {}
    for run in runs:
        srows = run.samples()
        rundir.adopt_files(
            run.path, outp, [r["output_path"] for r in srows if r.get("output_path")]
        )
        gts = sorted({rundir.gt_relpath(r["image_key"]) for r in srows})
        rundir.adopt_files(run.path, outp, gts)
        gt_index.update(
            {k: v for k, v in rundir.read_gt_index(run.path).items() if v.get("path") in gts}
        )
        rows.extend(srows)
    for rec in gt_index.values():  # the merged folder's GTs keep their provenance
        rundir.append_gt_index(outp, rec)
    keys = Counter((r["pair_id"], r["level"], r["seed"]) for r in rows)
    dups = [k for k, c in keys.items() if c > 1]
    if dups:
        raise InputFormatError(f"{len(dups)} samples appear in several shards, e.g. {dups[0]}")
    rows.sort(key=lambda r: (r["pair_id"], r["level"], r["seed"]))
    from lcad_bench.metrics import METRICS

    if suite is None:
        suite = build_suite([n for n in first.metrics if n in METRICS], check_weights=False)
    missing = sorted(set(first.metrics) - set(suite.metadata()))
    levels = list(first.protocol.get("levels") or [])
    columns = [*suite.columns(), *rundir.infer_columns(rows, suite.columns())]
    cells = aggregate(rows, columns, levels)
    summaries, warnings = summarize_levels(suite, rows, levels)
    warnings += nonfinite_warnings(cells)
    # a shard whose statistics are missing would make a level's FID cover fewer samples than
    # its rows: such a cell is not computed, and says why
    incomplete: dict[tuple[str, str], str] = {}
    for path, run in zip(shards, runs):
        state = rundir.load_distribution_state(run.path)
        for d in run.results.distribution_metrics:
            if d.get("value") is not None and d["metric"] not in (state.get(d["level"]) or {}):
                incomplete[(d["level"], d["metric"])] = str(path)
        suite.merge_distribution_state(state)
    dist_rows: list[dict[str, Any]] = []
    for lv, d in suite.compute_distribution().items():
        for name, val in d.items():
            if (lv, name) in incomplete:
                val = {
                    "value": None,
                    "error": f"{incomplete[(lv, name)]} has no saved statistics for it; rerun that shard",
                }
                warnings.append(f"{name} at level {lv} not merged: {val['error']}")
            dist_rows.append({"scheme": "controlled", "level": lv, "metric": name, **val})
            warnings += [w for w in val.get("warnings", []) or [] if w not in warnings]
    merged_dist = {d["metric"] for d in dist_rows}
    lost = sorted(
        {d["metric"] for run in runs for d in run.results.distribution_metrics} - merged_dist
    )
    if lost or missing:
        warnings.append(
            f"not recomputed by merge (no saved state, or a metric this lcad-bench does not know): "
            f"{', '.join(lost + missing)}; their per-sample columns are kept and averaged"
        )
    n_failed = sum(1 for r in rows if r.get("error"))
    if n_failed:
        warnings.insert(0, f"{n_failed} samples failed (see the error column of samples.parquet)")
    dist_file = rundir.save_distribution_state(outp, suite.distribution_state())
    samples = rundir.write_samples(outp, rows, columns)
    split = dict(first.split)
    split.update(shard=None, n_pairs=len({r["pair_id"] for r in rows}), n_images=len({r["image_key"] for r in rows}),
                 merged_from=[str(p) for p in shards])  # fmt: skip
    merged = first.model_copy(update={
        "run_id": unsharded_run_id(first.run_id),
        "created_at": utc_now(),
        "split": split,
        "aggregates": cells,
        "summaries": summaries,
        "distribution_metrics": dist_rows,
        "counts": {"samples": len(rows), "failed": n_failed},
        "warnings": warnings,
        "samples": samples,
        "distribution_state": dist_file,
    })  # fmt: skip
    rundir.write_results(outp, merged)
    return merged
