"""``lcad-bench summarize``: run folders and reported-result files -> the board folder.

The board folder holds

* ``leaderboard.parquet``: the tidy long table, one row per run x scheme x level x metric
  (:data:`COLUMNS`);
* ``pairs.parquet``: per run, level and pair the metric values (seeds averaged, failed samples
  left out), read from each run's ``samples.parquet``: what the paired per-level analysis needs
  (:data:`PAIR_BASE` + one float column per metric);
* ``metrics.json``: display metadata per metric (``lcad_bench.metrics.base.ColumnInfo``);
* ``runs.json``: one entry per run (details for the run page, the absolute path of the run
  folder and its samples table with the sha256 results.json records for it, which the sample
  viewer and user studies check before showing a sample; the failed samples) and the warnings of
  the summary.

A value outside the range its metric declares (a hit rate of 1.4) is a bug in the run: it is
left out with a warning, never shown.

Inputs are only ever parsed as JSON (results files, reported files) and validated; a malformed
or partial input is reported as a warning and left out. Nothing read is unpickled or executed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from lcad_bench.leaderboard.columns import merge_metadata, order_metrics
from lcad_bench.leaderboard.reported import ReportedFile, looks_reported, run_entries, tidy_rows

from lcad_bench.errors import LcadBenchError
from lcad_bench.evaluation.identity import partial_reasons
from lcad_bench.evaluation.rundir import (
    BASE_COLUMN_NAMES,
    RESULTS_FILE,
    Results,
    open_run,
    safe_join,
)
from lcad_bench.fileio import atomic_write_bytes, atomic_write_text, content_sha256, utc_now
from lcad_bench.metrics import catalogue
from lcad_bench.metrics.base import ColumnInfo
from lcad_bench.protocol import PROTOCOL_VERSION

BOARD_SCHEMA_VERSION = 3  # 3: runs.json records each run's samples_sha256
MAX_JSON_BYTES = 64 * 1024 * 1024
BOARD_FILE, PAIRS_FILE, METRICS_FILE, RUNS_FILE = (
    "leaderboard.parquet", "pairs.parquet", "metrics.json", "runs.json",
)  # fmt: skip
COLUMNS = [
    "run_id", "model", "model_version", "split", "split_hash", "scheme", "level", "metric", "value",
    "ci_low", "ci_high", "n", "n_images", "n_failed", "reported", "luminance_replaced", "oracle",
    "partial", "date", "source", "protocol_version", "protocol_fp", "rankable", "kind",
]  # fmt: skip
PAIR_BASE = ["run_id", "level", "pair_id", "image_key", "n_seeds", "n_failed"]
MAX_FAILURES_LISTED = 200


@dataclass
class Summary:
    """What summarize found."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    metric_meta: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[pd.DataFrame] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)

    @property
    def pair_frame(self) -> pd.DataFrame:
        frames = [f for f in self.pairs if len(f)]
        if not frames:
            return pd.DataFrame(columns=PAIR_BASE)
        return pd.concat(frames, ignore_index=True, sort=False)


def _read_json(path: Path) -> Any:
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise ValueError(f"{size} bytes, over the {MAX_JSON_BYTES} byte limit")
    return json.loads(path.read_text(encoding="utf-8"))


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def out_of_range(info: ColumnInfo | None, v: float | None) -> bool:
    """True when ``v`` lies outside the range the metric declares (tolerance 1e-9)."""
    if info is None or v is None:
        return False
    lo, hi = info.range
    return (lo is not None and v < lo - 1e-9) or (hi is not None and v > hi + 1e-9)


def short_hash(h: Any, n: int = 8) -> str:
    """The first ``n`` characters of a content hash ("?" when none is recorded)."""
    return str(h)[:n] if isinstance(h, str) and h else "?"


def split_label(name: Any, content_hash: Any) -> str:
    """How the board names a split everywhere (runs.json, the split selectors, study messages):
    its name and the short content hash ("no content hash" when none is recorded)."""
    if not (isinstance(content_hash, str) and content_hash):
        return f"{name} · no content hash"
    return f"{name} · {short_hash(content_hash)}"


def run_short_id(run_id: str) -> str:
    """The distinguishing part of a run id: 7 characters of the hash after the model name (and
    the shard)."""
    from lcad_bench.evaluation.identity import unsharded_run_id

    base = unsharded_run_id(run_id)  # the one rule for the shard suffix
    tail = base.rsplit("-", 1)[-1][:7]
    suffix = run_id[len(base) :]
    return f"{tail} shard {suffix.removeprefix('-shard')}" if suffix else tail


def _levels_of(res: Results) -> list[str]:
    lv = res.protocol.get("levels")
    if isinstance(lv, list) and lv:
        return [str(x) for x in lv]
    return sorted(
        {c.level for c in res.aggregates} | {str(d.get("level")) for d in res.distribution_metrics}
    )


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def invalid_fields(res: Results) -> str | None:
    """What in a schema-valid results file has the wrong shape for the board (the untyped blocks
    ``split`` and ``protocol``), or None: ``split.limit`` an integer >= 1 or null,
    ``split.shard`` ``[i, n]`` with 0 <= i < n or null, ``protocol.levels`` a list of level
    names or absent (docs/protocol.md#results-file)."""
    limit, shard, levels = (
        res.split.get("limit"),
        res.split.get("shard"),
        res.protocol.get("levels"),
    )
    if limit is not None and not (_is_int(limit) and limit >= 1):
        return f"split.limit: expected an integer >= 1 or null, got {json.dumps(limit)[:60]}"
    if shard is not None and not (
        isinstance(shard, list)
        and len(shard) == 2
        and all(map(_is_int, shard))
        and 0 <= shard[0] < shard[1]
    ):
        return (
            f"split.shard: expected [i, n] with 0 <= i < n, or null, got {json.dumps(shard)[:60]}"
        )
    if levels is not None and not (
        isinstance(levels, list) and all(isinstance(x, str) for x in levels)
    ):
        return f"protocol.levels: expected a list of level names, got {json.dumps(levels)[:60]}"
    return None


def _results_rows(
    res: Results, source: str, warnings: list[str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    model = res.model
    split = res.split
    proto_v = res.protocol.get("protocol_version")
    partial = partial_reasons(_levels_of(res), split.get("limit"), split.get("shard"))
    reasons = list(partial)
    if proto_v != PROTOCOL_VERSION:
        reasons.insert(0, f"protocol {proto_v} (current {PROTOCOL_VERSION})")
    rankable = not reasons
    cat = catalogue()
    base = {
        "run_id": res.run_id,
        "model": str(model.get("name", "?")),
        "model_version": None if model.get("version") is None else str(model.get("version")),
        "split": str(split.get("id", "?")),
        "split_hash": split.get("content_hash") if isinstance(split.get("content_hash"), str) else None,
        "reported": False,
        "luminance_replaced": bool(model.get("luminance_replaced")) if model.get("luminance_replaced") is not None else None,
        "oracle": bool(model.get("oracle")),
        "partial": "; ".join(partial),
        "date": res.created_at,
        "source": source,
        "protocol_version": None if proto_v is None else str(proto_v),
        "protocol_fp": content_sha256({k: v for k, v in res.protocol.items() if k != "levels"})[:12],
        "rankable": rankable,
    }  # fmt: skip

    def checked(
        metric: str, level: str, v: float | None, lo: float | None, hi: float | None
    ) -> tuple[Any, Any, Any]:
        if out_of_range(cat.get(metric), v):
            rng = cat[metric].range
            warnings.append(f"{source}: {metric} = {v} at level {level} is outside its range [{rng[0]}, {rng[1]}]; "
                            "left out (a bug in the run or the metric)")  # fmt: skip
            return None, None, None
        return v, lo, hi

    rows = []
    for c in res.aggregates:
        v, lo, hi = checked(c.metric, c.level, _num(c.mean), _num(c.ci_low), _num(c.ci_high))
        rows.append(base | {"scheme": c.scheme, "level": c.level, "metric": c.metric, "value": v, "ci_low": lo,
                            "ci_high": hi, "n": c.n_pairs, "n_images": c.n_images, "n_failed": c.n_failed,
                            "kind": "per_pair"})  # fmt: skip
    for d in res.distribution_metrics:
        if not isinstance(d, dict) or "metric" not in d or "level" not in d:
            continue
        v, lo, hi = checked(str(d["metric"]), str(d["level"]), _num(d.get("value", d.get("mean"))),
                            _num(d.get("ci_low")), _num(d.get("ci_high")))  # fmt: skip
        rows.append(base | {"scheme": str(d.get("scheme", "controlled")), "level": str(d["level"]), "metric": str(d["metric"]),
                            "value": v, "ci_low": lo, "ci_high": hi,
                            "n": d.get("n_fake") if isinstance(d.get("n_fake"), int) else None, "n_images": None,
                            "n_failed": None, "kind": "distribution"})  # fmt: skip
    run_dir = Path(source).parent
    samples = res.samples.get("path") if isinstance(res.samples, dict) else None
    samples_sha = res.samples.get("sha256") if isinstance(res.samples, dict) else None
    found = safe_join(run_dir, samples)
    if found is None or not found.is_file():
        samples = None
    elif not (isinstance(samples_sha, str) and samples_sha):
        warnings.append(f"{source}: records no sha256 of its samples table {samples}; the sample viewer and user "
                        "studies leave the run out (rerun `lcad-bench evaluate` with the same --out)")  # fmt: skip
        samples = None
    entry = {
        "run_id": res.run_id,
        "label": f"{base['model']} · {run_short_id(res.run_id)}",
        "model": base["model"],
        "split": base["split"],
        "split_hash": base["split_hash"],
        "split_label": split_label(base["split"], base["split_hash"]),
        "n_pairs": split.get("n_pairs") if isinstance(split.get("n_pairs"), int) else None,
        "reported": False,
        "rankable": rankable,
        "partial": partial,
        "oracle": base["oracle"],
        "luminance_replaced": base["luminance_replaced"],
        "not_rankable_reason": "; ".join(reasons) or None,
        "source": source,
        "run_dir": str(run_dir),
        "samples": samples,
        "samples_sha256": samples_sha if samples else None,
        "date": res.created_at,
        "failures": {"count": int(res.counts.get("failed", 0) or 0), "listed": []},
        "details": {
            "model": model,
            "split": split,
            "protocol": res.protocol,
            "seeds": res.seeds,
            "environment": res.environment,
            "metrics": res.metrics,
            "skipped_metrics": res.skipped_metrics,
            "warnings": res.warnings,
            "counts": res.counts,
        },
    }
    return rows, entry


def pair_values(
    rows: Sequence[dict[str, Any]], run_id: str, source: str, warnings: list[str]
) -> pd.DataFrame:
    """Per level and pair: each float metric column averaged over the pair's seeds that did not
    fail (NaN when none has a value), ``n_seeds`` and ``n_failed``. Values outside their metric's
    range are left out with a warning."""
    if not rows:
        return pd.DataFrame(columns=PAIR_BASE)
    df = pd.DataFrame(rows)
    failed = df["error"].notna() if "error" in df.columns else pd.Series(False, index=df.index)
    metric_cols = [c for c in df.columns if c not in BASE_COLUMN_NAMES and c != "key"
                   and pd.api.types.is_float_dtype(df[c])]  # fmt: skip
    cat = catalogue()
    vals = df[metric_cols].where(~failed, axis=0) if metric_cols else df[[]]
    for c in metric_cols:
        info = cat.get(c)
        if info is None:
            continue
        bad = vals[c].notna() & vals[c].map(lambda v, i=info: out_of_range(i, float(v)))
        if bad.any():
            warnings.append(f"{source}: {int(bad.sum())} per-sample {c} values lie outside its range {list(info.range)}; "
                            "they are left out of the paired analysis")  # fmt: skip
            vals.loc[bad, c] = float("nan")
    work = pd.concat([df[["level", "pair_id", "image_key"]], vals], axis=1)
    work["_failed"] = failed.astype(int)
    g = work.groupby(["level", "pair_id"], sort=True)
    out = g[metric_cols].mean() if metric_cols else pd.DataFrame(index=g.size().index)
    out.insert(0, "n_failed", g["_failed"].sum().astype(int))
    out.insert(0, "n_seeds", g.size().astype(int))
    out.insert(0, "image_key", g["image_key"].first())
    out = out.reset_index()
    out.insert(0, "run_id", run_id)
    return out[PAIR_BASE + metric_cols]


def _failures(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if r.get("error"):
            out.append({"pair_id": str(r.get("pair_id")), "level": str(r.get("level")), "seed": r.get("seed"),
                        "error": str(r.get("error"))[:500]})  # fmt: skip
            if len(out) >= MAX_FAILURES_LISTED:
                break
    return out


def _walk(root: Path, warnings: list[str]) -> list[Path]:
    """The results.json files and other *.json files under ``root``. A folder with a
    results.json is a run folder: nothing below it is read (its outputs/, gt/ and other files
    are the run's own); a results.json found below one is named in a warning."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames.sort()
        if RESULTS_FILE not in filenames:
            found.extend(
                here / f for f in sorted(filenames) if f.endswith(".json") and (here / f).is_file()
            )
            continue
        found.append(here / RESULTS_FILE)
        dirnames[:] = []  # a run folder: its subfolders are the run's own files
        nested = sorted(Path(sub) / RESULTS_FILE for sub, _, files in os.walk(here)
                        if sub != dirpath and RESULTS_FILE in files)  # fmt: skip
        for f in nested:
            warnings.append(f"{f}: inside the run folder {here}, whose results.json was read; not read "
                            "(summarize it on its own, or move it out of the run folder)")  # fmt: skip
    return found


def _candidates(paths: Iterable[str | Path], warnings: list[str]) -> list[Path]:
    """results.json files and other *.json files (maybe reported files) under the inputs."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            found = _walk(p, warnings)
            if not found:
                warnings.append(f"{p}: no results.json or reported-results file found; left out")
            out.extend(found)
        else:
            warnings.append(f"{p}: does not exist; left out")
    return list(dict.fromkeys(x.resolve() for x in out))


def collect(paths: Sequence[str | Path]) -> Summary:
    """Read every input; malformed or partial ones become warnings."""
    from pydantic import ValidationError

    s = Summary()
    seen_ids: dict[str, str] = {}
    for path in _candidates(paths, s.warnings):
        src = str(path)
        try:
            obj = _read_json(path)
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            s.warnings.append(f"{src}: not readable JSON ({str(exc)[:160]}); left out")
            continue
        if looks_reported(obj):
            try:
                rep = ReportedFile.model_validate(obj)
            except ValidationError as exc:
                s.warnings.append(f"{src}: invalid reported-results file ({_short(exc)}); left out")
                continue
            entries = run_entries(rep, src)
            for e in entries:
                e["split_label"] = split_label(e["split"], e["split_hash"])
            dup = [e["run_id"] for e in entries if e["run_id"] in seen_ids]
            if dup:
                s.warnings.append(
                    f"{src}: run id {dup[0]} already read from {seen_ids[dup[0]]}; left out"
                )
                continue
            for e in entries:
                seen_ids[e["run_id"]] = src
            s.rows.extend(tidy_rows(rep, src))
            s.runs.extend(entries)
            continue
        if path.name != "results.json" and not (
            isinstance(obj, dict) and "aggregates" in obj and "run_id" in obj
        ):
            continue  # some other JSON file inside a run folder: not ours
        try:
            res = Results.model_validate(obj)
        except ValidationError as exc:
            s.warnings.append(f"{src}: invalid results file ({_short(exc)}); left out")
            continue
        bad = invalid_fields(res)
        if bad:
            s.warnings.append(f"{src}: invalid results file ({bad}); left out")
            continue
        if not res.aggregates and not res.distribution_metrics:
            s.warnings.append(f"{src}: results file has no aggregates (partial run?); left out")
            continue
        if res.run_id in seen_ids:
            s.warnings.append(
                f"{src}: run id {res.run_id} already read from {seen_ids[res.run_id]}; left out"
            )
            continue
        sample_rows: list[dict[str, Any]] | None = None
        if path.name == RESULTS_FILE and (res.samples or {}).get("sha256"):
            try:
                run = open_run(
                    path.parent
                )  # results.json and its samples table must belong together
                sample_rows = run.samples()
            except LcadBenchError as exc:
                s.warnings.append(f"{src}: {exc}; left out")
                continue
        rows, entry = _results_rows(res, src, s.warnings)
        if sample_rows is not None:
            s.pairs.append(pair_values(sample_rows, res.run_id, src, s.warnings))
            entry["failures"]["listed"] = _failures(sample_rows)
            entry["failures"]["count"] = sum(1 for r in sample_rows if r.get("error"))
        seen_ids[res.run_id] = src
        s.rows.extend(rows)
        s.runs.append(entry)
        s.metric_meta.append(res.metrics if isinstance(res.metrics, dict) else {})
    return s


def _short(exc: Exception) -> str:
    errs = getattr(exc, "errors", None)
    if callable(errs):
        first = errs()[:2]
        return "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in first
        )[:240]
    return str(exc)[:240]


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def write_board(s: Summary, out: str | Path) -> Path:
    """Write leaderboard.parquet, pairs.parquet, metrics.json and runs.json into ``out``
    (atomic per file)."""
    outp = Path(out)
    outp.mkdir(parents=True, exist_ok=True)
    df = s.frame
    atomic_write_bytes(outp / BOARD_FILE, _parquet_bytes(df))
    pairs = s.pair_frame
    for c in ("run_id", "level", "pair_id", "image_key"):
        pairs[c] = pairs[c].astype("string")
    atomic_write_bytes(outp / PAIRS_FILE, _parquet_bytes(pairs))
    names = order_metrics(df["metric"].unique().tolist()) if len(df) else []
    infos = merge_metadata(names, s.metric_meta)
    atomic_write_text(
        outp / METRICS_FILE,
        json.dumps({n: infos[n].to_dict() for n in names}, indent=2, ensure_ascii=False) + "\n",
    )
    runs = {"schema_version": BOARD_SCHEMA_VERSION, "created_at": utc_now(),
            "protocol_version": PROTOCOL_VERSION, "runs": s.runs, "warnings": s.warnings}  # fmt: skip
    atomic_write_text(
        outp / RUNS_FILE, json.dumps(runs, indent=1, ensure_ascii=False, default=str) + "\n"
    )
    return outp


def summarize(paths: Sequence[str | Path], out: str | Path) -> Summary:
    """Collect ``paths`` and write the board into ``out``."""
    s = collect(paths)
    write_board(s, out)
    return s
