"""Helpers shared by the benchmarks: timing, environment record, result files."""

from __future__ import annotations

import json
import os
import platform
import resource
from pathlib import Path
from typing import Any

from lcad_bench.fileio import utc_now

RESULTS = Path(__file__).parent / "results"


def shared_data() -> Path | None:
    """$LCAD_BENCH_SHARED_DATA as a folder, or None."""
    root = os.environ.get("LCAD_BENCH_SHARED_DATA", "")
    return Path(root) if root and Path(root).is_dir() else None


def environment() -> dict[str, Any]:
    """Where a benchmark ran."""
    import lcad_bench

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "lcad_bench": lcad_bench.__version__,
        "date": utc_now(),
    }


REPO = Path(__file__).resolve().parents[1]  # child scripts run here (they import benchmarks.*)


def peak_rss_mb() -> float:
    """Peak resident set size of this process since it started its program (MiB): Linux's
    ``VmHWM``. Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries the RSS a process had
    before ``execve`` into it, so a child started from a large benchmark process reports at
    least its parent's RSS (a 10 MB child of an 800 MB parent reads 811 MB). Elsewhere the
    ``ru_maxrss`` value is returned."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json and return its path. A run that lacked its data
    (``{"skipped": ...}``) never replaces a result that has figures: it goes to
    ``<name>.skipped.json`` beside it instead."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    if "skipped" in payload and path.is_file():
        try:
            kept = "skipped" not in json.loads(path.read_text())
        except ValueError:
            kept = False
        if kept:
            path = RESULTS / f"{name}.skipped.json"
    payload = {"benchmark": name, "environment": environment(), **payload}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
