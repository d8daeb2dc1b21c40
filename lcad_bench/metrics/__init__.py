"""Evaluation metrics (benchmark-protocol.md section 6).

``METRICS`` maps each metric name to a lazy ``"module:attr"`` factory with fixed keyword arguments
and the ``MetricInfo`` it carries, so importing this package never imports torch. Use
:func:`get_metric` to build one, :func:`metric_info` to read its facts, :func:`available` to split
names into runnable ones and skipped ones (missing weights, with the reason) and
:func:`resolve_metrics` for the run rule: an explicitly requested metric without weights is an
error; the default set runs what is available and reports what it skipped and why.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lcad_bench.errors import UsageError
from lcad_bench.metrics.base import LinkedPhrase, Metric, MetricBatch, MetricInfo, WeightFile

__all__ = [
    "DEFAULT_METRICS", "METRICS", "LinkedPhrase", "Metric", "MetricBatch", "MetricInfo", "MetricSpec",
    "WeightFile", "available", "get_metric", "metric_info", "resolve_metrics",
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

# the protocol's default set (section 6): both LPIPS trunks, FID, CF and CWHR
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


def available(names: Iterable[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Split metric names (default: :data:`DEFAULT_METRICS`) into those whose weights are all present
    and verified, and ``{name: reason}`` for the others (the reason names each missing file, its
    sha256, the folder and the import command)."""
    from lcad_bench.metrics.weights import missing_message

    runnable: list[str] = []
    skipped: dict[str, str] = {}
    for raw in DEFAULT_METRICS if names is None else names:
        name = canonical_name(raw)
        problems = _weight_problems(name)
        if problems:
            skipped[name] = "; ".join(
                missing_message(st.file, name, st.path) if st.state == "missing"
                else f"weight file {st.path} fails its checksum (sha256 {st.sha256}, expected {st.file.sha256})"
                for st in problems
            )  # fmt: skip
        elif name not in runnable:
            runnable.append(name)
    return runnable, skipped


def _weight_problems(name: str) -> list[Any]:
    from lcad_bench.metrics.weights import check

    return [
        st for st in (check(w.name) for w in metric_info(name).weights) if st.state != "present"
    ]


def resolve_metrics(names: Sequence[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The run rule. ``names`` given (explicit request): every one must be runnable, else the
    first missing file raises ``MissingWeightsError`` (or ``WeightsChecksumError``). ``None``: the
    default set, skipping metrics without weights and returning why."""
    if names is None:
        return available(None)
    from lcad_bench.metrics.weights import locate

    out: list[str] = []
    for raw in names:
        name = canonical_name(raw)
        for w in metric_info(name).weights:
            locate(w.name, metric=name)
        if name not in out:
            out.append(name)
    return out, {}
