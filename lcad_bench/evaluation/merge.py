"""``lcad-bench merge``: combine the run folders of ``--shard i/n`` runs into one run.

Checks that the shards belong to the same model configuration, split and protocol, that every
(pair, level, seed) appears exactly once, and — when the shards say how many there were — that
all n shards are present. Per-sample rows are concatenated and re-aggregated; distribution
metrics (FID) are recomputed from the shards' gathered sufficient statistics, never by averaging
shard scores.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lcad_bench.errors import InputFormatError, UsageError


def merge_runs(shards: Sequence[str | Path], out: str | Path, suite: Any = None) -> Any:
    """Merge shard run folders into ``out`` and return the merged Results."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lcad_bench.evaluation.results import aggregate, load_results, write_results
    from lcad_bench.evaluation.runner import DIST_STATE, load_distribution_state, timestamp
    from lcad_bench.fileio import atomic_write_bytes

    if len(shards) < 1:
        raise UsageError("merge needs at least one shard run folder")
    outp = Path(out)
    res = [load_results(p) for p in shards]
    first = res[0]
    for p, r in zip(shards, res):
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
    specs = [tuple(r.split.get("shard") or ()) for r in res]
    if all(specs):
        n = specs[0][1]
        got = sorted(s[0] for s in specs)
        if any(s[1] != n for s in specs) or got != list(range(n)):
            raise InputFormatError(
                f"shards {sorted(specs)} are not exactly 0..{n - 1} of {n}: a shard is missing or repeated"
            )
    rows: list[dict[str, Any]] = []
    for p in shards:
        for r in pq.read_table(Path(p) / "samples.parquet").to_pylist():
            if r.get("output_path"):
                r["output_path"] = os.path.relpath(Path(p) / r["output_path"], outp)
            rows.append(r)
    keys = Counter((r["pair_id"], r["level"], r["seed"]) for r in rows)
    dups = [k for k, c in keys.items() if c > 1]
    if dups:
        raise InputFormatError(f"{len(dups)} samples appear in several shards, e.g. {dups[0]}")
    rows.sort(key=lambda r: (r["pair_id"], r["level"], r["seed"]))
    metric_names = [c.metric for c in first.aggregates]
    metric_names = list(dict.fromkeys(metric_names))
    levels = list(first.protocol.get("levels") or [])
    decoded = [
        {
            k: (json.loads(v) if isinstance(v, str) and v[:1] in ("[", "{") else v)
            for k, v in r.items()
        }
        for r in rows
    ]
    cells = aggregate(decoded, metric_names, levels)
    dist_rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    if suite is None and any((Path(p) / DIST_STATE).is_file() for p in shards):
        from lcad_bench.evaluation.suite import build_suite

        suite = build_suite(
            [d["metric"] for d in first.distribution_metrics] or None, explicit=False
        )
    if suite is not None:
        for p in shards:
            suite.merge_distribution_state(load_distribution_state(Path(p) / DIST_STATE))
        for lv, d in suite.compute_distribution().items():
            for name, val in d.items():
                dist_rows.append({"scheme": "controlled", "level": lv, "metric": name, **val})
                warnings.extend(w for w in val.get("warnings", []) or [] if w not in warnings)
    n_failed = sum(1 for r in rows if r.get("error"))
    if n_failed:
        warnings.insert(0, f"{n_failed} samples failed (see the error column of samples.parquet)")
    outp.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    atomic_write_bytes(outp / "samples.parquet", buf.getvalue())
    split = dict(first.split)
    split.update(shard=None, n_pairs=len({r["pair_id"] for r in rows}), n_images=len({r["image_key"] for r in rows}),
                 merged_from=[str(p) for p in shards])  # fmt: skip
    merged = first.model_copy(update={
        "run_id": first.run_id.split("-shard")[0],
        "created_at": timestamp(),
        "split": split,
        "aggregates": cells,
        "distribution_metrics": dist_rows,
        "counts": {"samples": len(rows), "failed": n_failed},
        "warnings": warnings,
        "samples": {"path": "samples.parquet", "rows": len(rows), "sha256": hashlib.sha256((outp / "samples.parquet").read_bytes()).hexdigest()},
    })  # fmt: skip
    write_results(outp / "results.json", merged)
    return merged
