"""Evaluation metrics (docs/protocol.md#metrics).

``METRICS`` maps each metric name to a lazy ``"module:attr"`` factory with fixed keyword arguments
and the ``MetricInfo`` it carries, so importing this package never imports torch. Use
:func:`get_metric` to build one, :func:`metric_info` to read its facts, :func:`column_info` /
:func:`catalogue` for the display facts of every result column (the one source the runner,
``show``, the leaderboard and the docs read), and :func:`resolve_metrics` for the run rule.

The run rule (one function, documented in docs/evaluating.md): a weight file that is present but
fails its checksum always stops the run (``WeightsChecksumError``, exit code 4); a missing file
stops an explicitly requested metric (``MissingWeightsError``, exit code 3), while the default set
runs the metrics it can and records each skipped one with the reason.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lcad_bench.errors import UsageError
from lcad_bench.metrics.base import ColumnInfo, LinkedPhrase, Metric, MetricBatch, MetricInfo
from lcad_bench.metrics.weights import WeightFile

__all__ = [
    "DEFAULT_METRICS", "METRICS", "ColumnInfo", "LinkedPhrase", "Metric", "MetricBatch", "MetricInfo",
    "MetricSpec", "WeightFile", "catalogue", "column_info", "get_metric", "metric_info", "resolve_metrics",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """How to build a registered metric: factory ``"module:attr"``, fixed kwargs, info ``"module:attr"``."""

    factory: str
    info: str
    kwargs: dict[str, Any] = field(default_factory=dict)


_M = "lcad_bench.metrics"
METRICS: dict[str, MetricSpec] = {
    "psnr": MetricSpec(f"{_M}.psnr:PSNR", f"{_M}.psnr:PSNR_INFO"),
    "ssim": MetricSpec(f"{_M}.ssim:SSIM", f"{_M}.ssim:SSIM_INFO", {"variant": "gaussian11"}),
    "ssim_uniform7": MetricSpec(
        f"{_M}.ssim:SSIM", f"{_M}.ssim:SSIM_UNIFORM7_INFO", {"variant": "uniform7"}
    ),
    "lpips": MetricSpec(f"{_M}.lpips:LPIPS", f"{_M}.lpips:LPIPS_ALEX_INFO", {"net": "alex"}),
    "lpips_vgg": MetricSpec(f"{_M}.lpips:LPIPS", f"{_M}.lpips:LPIPS_VGG_INFO", {"net": "vgg"}),
    "colourfulness": MetricSpec(f"{_M}.colourfulness:Colourfulness", f"{_M}.colourfulness:CF_INFO"),
    "cwhr": MetricSpec(f"{_M}.cwhr:CWHR", f"{_M}.cwhr:CWHR_INFO"),
    "fid": MetricSpec(f"{_M}.fid:FID", f"{_M}.fid:FID_INFO"),
}

# aliases accepted on the command line
ALIASES = {"colorfulness": "colourfulness", "cf": "colourfulness", "lpips_alex": "lpips"}

# the protocol's default set (docs/protocol.md#metrics): both LPIPS trunks, FID, CF and CWHR
DEFAULT_METRICS: tuple[str, ...] = (
    "psnr",
    "ssim",
    "lpips",
    "lpips_vgg",
    "colourfulness",
    "cwhr",
    "fid",
)


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def canonical_name(name: str) -> str:
    """The registered name of ``name`` (aliases resolved), or a ``UsageError`` with close matches."""
    name = ALIASES.get(name, name)
    if name in METRICS:
        return name
    close = difflib.get_close_matches(name, [*METRICS, *ALIASES], n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UsageError(f"unknown metric {name!r}.{hint} Known: {', '.join(METRICS)}")


def metric_info(name: str) -> MetricInfo:
    """The ``MetricInfo`` of a registered metric (imports its module, never torch)."""
    info: MetricInfo = _load(METRICS[canonical_name(name)].info)
    return info


def get_metric(name: str, **kwargs: Any) -> Metric:
    """Build a registered metric; ``kwargs`` add to (and override) the registered ones, e.g.
    ``get_metric("lpips", model=net)`` or ``get_metric("fid", extractor=f)`` in tests."""
    spec = METRICS[canonical_name(name)]
    metric: Metric = _load(spec.factory)(**(spec.kwargs | kwargs))
    return metric


def resolve_metrics(names: Sequence[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The run rule: (runnable metric names, ``{skipped name: reason}``).

    ``names`` given (an explicit request): every metric must be runnable; the first missing
    file raises ``MissingWeightsError`` (exit 3). ``None``: the default set, skipping metrics
    whose files are missing and saying why. Either way a file that is present but fails its
    checksum raises ``WeightsChecksumError`` (exit 4): a corrupt file is never skipped quietly."""
    from lcad_bench.metrics.weights import check, locate, missing_message

    explicit = names is not None
    runnable: list[str] = []
    skipped: dict[str, str] = {}
    for raw in DEFAULT_METRICS if names is None else names:
        name = canonical_name(raw)
        statuses = [check(w.name) for w in metric_info(name).weights]
        for st in statuses:
            if st.state == "mismatch" or (explicit and st.state == "missing"):
                locate(st.file.name, metric=name)  # raises the error with its message
        missing = [st for st in statuses if st.state == "missing"]
        if missing:
            skipped[name] = "; ".join(missing_message(st.file, name, st.path) for st in missing)
        elif name not in runnable:
            runnable.append(name)
    return runnable, skipped


def catalogue() -> dict[str, ColumnInfo]:
    """Every result column of every registered metric (per-sample, derived and distribution)."""
    out: dict[str, ColumnInfo] = {}
    for name in METRICS:
        for col in metric_info(name).columns:
            out.setdefault(col.name, col)
    return out


def column_info(name: str) -> ColumnInfo | None:
    """The display facts of a result column, or None for a column no registered metric writes."""
    return catalogue().get(name)


def markdown_table() -> str:
    """The result-column table of docs/metrics.md, generated from the catalogue (a test keeps
    the page equal to it)."""
    lines = [
        "| column | metric | shown as | direction | decimals | stored as | headline | meaning |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in METRICS:
        info = metric_info(name)
        for c in info.columns:
            direction = {
                True: "higher is better",
                False: "lower is better",
                None: "information only",
            }[c.higher_is_better]
            if info.kind == "distribution":
                stored = "one value per level"
            elif c.derived_from:
                stored = f"cell from {', '.join(c.derived_from)}"
            else:
                stored = c.dtype + (" per sample, mean cells" if c.aggregate else " per sample")
            cells = (f"`{c.name}`", name, c.display_name, direction, str(c.decimals), stored,
                     "yes" if c.headline else "", c.description)  # fmt: skip
            lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(dict.fromkeys(lines))
