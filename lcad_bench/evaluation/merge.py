"""``lcad-bench merge``: combine the run folders of ``--shard i/n`` runs into one complete run.

Checks that the shards belong to the same model configuration, split and protocol, that every
(pair, level, seed) appears exactly once, and (when the shards say how many there were) that all
n shards are present. The merged folder is an ordinary run folder: the shards' outputs and ground
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
from lcad_bench.evaluation.aggregate import aggregate
from lcad_bench.fileio import utc_now


def merge_runs(shards: Sequence[str | Path], out: str | Path, suite: Any = None) -> rundir.Results:
    """Merge shard run folders into ``out`` and return the merged Results."""
    from lcad_bench.evaluation.runner import summarize_levels
    from lcad_bench.evaluation.suite import build_suite

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
    specs = [tuple(run.results.split.get("shard") or ()) for run in runs]
    if all(specs):
        n = specs[0][1]
        got = sorted(s[0] for s in specs)
        if any(s[1] != n for s in specs) or got != list(range(n)):
            raise InputFormatError(
                f"shards {sorted(specs)} are not exactly 0..{n - 1} of {n}: a shard is missing or repeated"
            )
    rows: list[dict[str, Any]] = []
    for run in runs:
        srows = run.samples()
        rundir.adopt_files(
            run.path, outp, [r["output_path"] for r in srows if r.get("output_path")]
        )
        rundir.adopt_files(
            run.path, outp, sorted({rundir.gt_relpath(r["image_key"]) for r in srows})
        )
        rows.extend(srows)
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
    for run in runs:
        suite.merge_distribution_state(rundir.load_distribution_state(run.path))
    dist_rows: list[dict[str, Any]] = []
    for lv, d in suite.compute_distribution().items():
        for name, val in d.items():
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
    outp.mkdir(parents=True, exist_ok=True)
    samples = rundir.write_samples(outp, rows, columns)
    rundir.save_distribution_state(outp, suite.distribution_state())
    split = dict(first.split)
    split.update(shard=None, n_pairs=len({r["pair_id"] for r in rows}), n_images=len({r["image_key"] for r in rows}),
                 merged_from=[str(p) for p in shards])  # fmt: skip
    merged = first.model_copy(update={
        "run_id": first.run_id.split("-shard")[0],
        "created_at": utc_now(),
        "split": split,
        "aggregates": cells,
        "summaries": summaries,
        "distribution_metrics": dist_rows,
        "counts": {"samples": len(rows), "failed": n_failed},
        "warnings": warnings,
        "samples": samples,
    })  # fmt: skip
    rundir.write_results(outp, merged)
    return merged
