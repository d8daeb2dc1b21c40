"""``lcad-bench summarize``: run folders and reported-result files -> the board folder.

The board folder holds

* ``leaderboard.parquet``: the tidy long table, one row per run x scheme x level x metric
  (:data:`COLUMNS`);
* ``metrics.json``: display metadata per metric (``leaderboard.columns.MetricInfo``);
* ``runs.json``: one entry per run (details for the run page and the absolute path of the run
  folder for the sample viewer) and the warnings of the summary.

Inputs are only ever parsed as JSON (results files, reported files) and validated; a malformed
or partial input is reported as a warning and left out. Nothing read is unpickled or executed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from lcad_bench.leaderboard.columns import merge_metadata, order_metrics
from lcad_bench.leaderboard.reported import ReportedFile, looks_reported, run_entries, tidy_rows

from lcad_bench.errors import LcadBenchError
from lcad_bench.evaluation.rundir import RESULTS_FILE, Results, open_run, safe_join
from lcad_bench.fileio import atomic_write_bytes, atomic_write_text, utc_now
from lcad_bench.protocol import PROTOCOL_VERSION

BOARD_SCHEMA_VERSION = 1
MAX_JSON_BYTES = 64 * 1024 * 1024
COLUMNS = [
    "run_id", "model", "model_version", "split", "split_hash", "scheme", "level", "metric", "value",
    "ci_low", "ci_high", "n", "n_failed", "reported", "luminance_replaced", "date", "source",
    "protocol_version", "rankable", "kind",
]  # fmt: skip


@dataclass
class Summary:
    """What summarize found."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    metric_meta: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)


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


def _results_rows(res: Any, source: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    model = res.model
    split = res.split
    proto_v = res.protocol.get("protocol_version")
    reasons = []
    if proto_v != PROTOCOL_VERSION:
        reasons.append(f"protocol {proto_v} (current {PROTOCOL_VERSION})")
    if split.get("limit") is not None:
        reasons.append(f"limit {split.get('limit')}")
    if split.get("shard"):
        reasons.append(f"shard {split.get('shard')} (merge first)")
    rankable = not reasons
    base = {
        "run_id": res.run_id,
        "model": str(model.get("name", "?")),
        "model_version": None if model.get("version") is None else str(model.get("version")),
        "split": str(split.get("id", "?")),
        "split_hash": split.get("content_hash"),
        "reported": False,
        "luminance_replaced": bool(model.get("luminance_replaced"))
        if model.get("luminance_replaced") is not None
        else None,
        "date": res.created_at,
        "source": source,
        "protocol_version": None if proto_v is None else str(proto_v),
        "rankable": rankable,
    }
    rows = []
    for c in res.aggregates:
        rows.append(base | {"scheme": c.scheme, "level": c.level, "metric": c.metric, "value": _num(c.mean),
                            "ci_low": _num(c.ci_low), "ci_high": _num(c.ci_high), "n": c.n_pairs,
                            "n_failed": c.n_failed, "kind": "per_pair"})  # fmt: skip
    for d in res.distribution_metrics:
        if not isinstance(d, dict) or "metric" not in d or "level" not in d:
            continue
        value = _num(d.get("value", d.get("mean")))
        rows.append(base | {"scheme": str(d.get("scheme", "controlled")), "level": str(d["level"]), "metric": str(d["metric"]),
                            "value": value, "ci_low": _num(d.get("ci_low")), "ci_high": _num(d.get("ci_high")),
                            "n": d.get("n_fake") if isinstance(d.get("n_fake"), int) else None, "n_failed": None,
                            "kind": "distribution"})  # fmt: skip
    run_dir = Path(source).parent
    samples = res.samples.get("path") if isinstance(res.samples, dict) else None
    found = safe_join(run_dir, samples)
    if found is None or not found.is_file():
        samples = None
    entry = {
        "run_id": res.run_id,
        "model": base["model"],
        "split": base["split"],
        "reported": False,
        "rankable": rankable,
        "not_rankable_reason": "; ".join(reasons) or None,
        "source": source,
        "run_dir": str(run_dir),
        "samples": samples,
        "date": res.created_at,
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


def _candidates(paths: Iterable[str | Path], warnings: list[str]) -> list[Path]:
    """results.json files and other *.json files (maybe reported files) under the inputs."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            if (p / "results.json").is_file():
                out.append(p / "results.json")
            else:
                found = sorted(
                    q
                    for q in p.rglob("*.json")
                    if q.is_file() and "outputs" not in q.relative_to(p).parts
                )
                if not found:
                    warnings.append(
                        f"{p}: no results.json or reported-results file found; left out"
                    )
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
        if not res.aggregates and not res.distribution_metrics:
            s.warnings.append(f"{src}: results file has no aggregates (partial run?); left out")
            continue
        if res.run_id in seen_ids:
            s.warnings.append(
                f"{src}: run id {res.run_id} already read from {seen_ids[res.run_id]}; left out"
            )
            continue
        if path.name == RESULTS_FILE and (res.samples or {}).get("sha256"):
            try:
                open_run(path.parent)  # results.json and its samples table must belong together
            except LcadBenchError as exc:
                s.warnings.append(f"{src}: {exc}; left out")
                continue
        rows, entry = _results_rows(res, src)
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


def write_board(s: Summary, out: str | Path) -> Path:
    """Write leaderboard.parquet, metrics.json and runs.json into ``out`` (atomic per file)."""

    outp = Path(out)
    outp.mkdir(parents=True, exist_ok=True)
    df = s.frame
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(outp / "leaderboard.parquet", buf.getvalue())
    names = order_metrics(df["metric"].unique().tolist()) if len(df) else []
    infos = merge_metadata(names, s.metric_meta)
    atomic_write_text(
        outp / "metrics.json",
        json.dumps({n: infos[n].to_dict() for n in names}, indent=2, ensure_ascii=False) + "\n",
    )
    runs = {"schema_version": BOARD_SCHEMA_VERSION, "created_at": utc_now(),
            "protocol_version": PROTOCOL_VERSION, "runs": s.runs, "warnings": s.warnings}  # fmt: skip
    atomic_write_text(
        outp / "runs.json", json.dumps(runs, indent=1, ensure_ascii=False, default=str) + "\n"
    )
    return outp


def summarize(paths: Sequence[str | Path], out: str | Path) -> Summary:
    """Collect ``paths`` and write the board into ``out``."""
    s = collect(paths)
    write_board(s, out)
    return s
