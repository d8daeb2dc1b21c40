"""Metric interface: metadata as data (:class:`MetricInfo`), batches (:class:`MetricBatch`) and the
streaming :class:`Metric` protocol ``reset() / update(batch) -> rows / compute() -> dict``.

Nothing here imports torch: the metric modules import it inside the functions that need it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lcad_bench.metrics.weights import WeightFile


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """How one result column is shown and aggregated: the single source of metric display facts
    (read by the runner, results.json, ``lcad-bench show``, the leaderboard and the docs table).

    ``dtype`` is the per-sample storage type (``float``, ``bool``, ``json``). A ``float`` column
    with ``aggregate`` gets a mean cell per level. ``derived_from`` marks a column that exists
    only as an aggregate: ``derive`` maps the per-level means of those columns to its value
    (ΔCF = |mean CF(pred) - mean CF(GT)|), with the same image bootstrap as the means."""

    name: str
    display_name: str
    description: str
    higher_is_better: bool | None  # None: information only (never ranked)
    decimals: int = 3
    range: tuple[float | None, float | None] = (None, None)
    dtype: Literal["float", "bool", "json"] = "float"
    aggregate: bool = True
    headline: bool = False
    derived_from: tuple[str, ...] = ()
    derive: Callable[..., float] | None = field(default=None, compare=False, repr=False)

    @property
    def arrow(self) -> str:
        """↑ when higher is better, ↓ when lower is better, nothing for information only."""
        if self.higher_is_better is None:
            return ""
        return "↑" if self.higher_is_better else "↓"

    @property
    def label(self) -> str:
        """Display name with its direction arrow."""
        return f"{self.display_name} {self.arrow}".strip()

    @property
    def info_only(self) -> bool:
        """Shown for information, never ranked (no direction)."""
        return self.higher_is_better is None

    @property
    def number_format(self) -> str:
        """printf-style format of a value."""
        return f"%.{self.decimals}f"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (results.json ``metrics[...].columns``, the board's metrics.json)."""
        return {
            "name": self.name, "display_name": self.display_name, "description": self.description,
            "higher_is_better": self.higher_is_better, "decimals": self.decimals,
            "range": [_finite(x) for x in self.range], "dtype": self.dtype, "aggregate": self.aggregate,
            "headline": self.headline, "derived_from": list(self.derived_from),
        }  # fmt: skip


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """Facts about a metric, declared once: what it is, how it runs, which weights it loads, and
    the columns it writes (the first is its value column)."""

    name: str
    description: str
    kind: Literal["per_sample", "distribution"]
    backend: str
    columns: tuple[ColumnInfo, ...]
    weights: tuple[WeightFile, ...] = ()

    @property
    def value(self) -> ColumnInfo:
        """The column holding the metric's value."""
        return self.columns[0]

    @property
    def value_column(self) -> str:
        """Name of the value column."""
        return self.columns[0].name

    @property
    def display_name(self) -> str:
        """Display name of the value column."""
        return self.columns[0].display_name

    @property
    def higher_is_better(self) -> bool | None:
        """Direction of the value column."""
        return self.columns[0].higher_is_better

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name, "display_name": self.display_name, "description": self.description,
            "higher_is_better": self.higher_is_better, "kind": self.kind, "backend": self.backend,
            "columns": [c.to_dict() for c in self.columns], "weights": [w.to_dict() for w in self.weights],
        }  # fmt: skip


LINK_KINDS_SCORED = ("unique", "group", "stuff")


@dataclass(frozen=True, slots=True)
class LinkedPhrase:
    """A colour phrase of a sample linked to an object mask (the input of CWHR).

    ``colours`` are the canonical names of the phrase's colour terms ("red", "navy", "gray"), in
    caption order; each is one CWHR unit. ``mask`` is the boolean H x W object mask at evaluation
    geometry. ``link`` is the phrase's link kind (``unique``, ``group``, ``stuff``; anything else,
    e.g. ``gt_colour`` or ``largest``, is skipped). ``kept_fraction`` is the share of the source
    mask that survived the crop (``mask_kept_fraction``)."""

    colours: tuple[str, ...]
    mask: np.ndarray
    link: str | None = "unique"
    category: str = ""
    phrase_id: int | None = None
    nonhue: bool = False
    kept_fraction: float = 1.0


@dataclass(frozen=True, slots=True)
class MetricBatch:
    """A batch of (prediction, ground truth) pairs at evaluation resolution.

    ``pred`` and ``gt`` are uint8 arrays N x H x W x 3 in RGB order. ``phrases`` (optional, for
    CWHR) holds, per sample, its linked colour phrases."""

    keys: list[str]
    pred: np.ndarray
    gt: np.ndarray
    phrases: Sequence[Sequence[LinkedPhrase]] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for nm in ("pred", "gt"):
            a = getattr(self, nm)
            if (
                not isinstance(a, np.ndarray)
                or a.dtype != np.uint8
                or a.ndim != 4
                or a.shape[-1] != 3
            ):
                got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ValueError(f"MetricBatch.{nm} must be a uint8 N x H x W x 3 array, got {got}")
        if self.pred.shape != self.gt.shape:
            raise ValueError(
                f"MetricBatch: pred {self.pred.shape} and gt {self.gt.shape} differ in shape"
            )
        if len(self.keys) != self.pred.shape[0]:
            raise ValueError(f"MetricBatch: {len(self.keys)} keys for {self.pred.shape[0]} images")
        if self.phrases is not None and len(self.phrases) != len(self.keys):
            raise ValueError(
                f"MetricBatch: {len(self.phrases)} phrase lists for {len(self.keys)} images"
            )

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def from_lists(
        cls,
        keys: Sequence[str],
        preds: Sequence[np.ndarray],
        gts: Sequence[np.ndarray],
        phrases: Sequence[Sequence[LinkedPhrase]] | None = None,
    ) -> MetricBatch:
        """Stack lists of H x W x 3 uint8 images into a batch."""
        return cls(list(keys), np.stack(list(preds)), np.stack(list(gts)), phrases)


class Metric(ABC):
    """A metric: :class:`PerSampleMetric` (one row per sample, summarised per cell) or
    :class:`DistributionMetric` (sufficient statistics over a set, e.g. FID)."""

    info: MetricInfo

    def __init__(self) -> None:
        self.reset()

    @abstractmethod
    def reset(self) -> None:
        """Forget everything seen so far."""

    @abstractmethod
    def update(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Consume a batch; return per-sample rows (an empty list for distribution metrics)."""

    @abstractmethod
    def compute(self) -> dict[str, Any]:
        """The aggregate result over everything seen since :meth:`reset`."""

    def describe(self) -> dict[str, Any]:
        """Metadata for ``results.json``: the info plus resolved settings (overridden by metrics)."""
        return self.info.to_dict()


class PerSampleMetric(Metric):
    """A metric with one value per sample. :meth:`score` is stateless (the runner calls it and
    keeps the rows in the samples table); :meth:`summarize` is a pure function of rows, so the
    summary of a level in ``results.json`` is the same for a single run, a resumed run and a
    merge of shards. :meth:`update` / :meth:`compute` keep rows for standalone use."""

    @abstractmethod
    def score(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """Per-sample rows ``{"key": ..., column: value, ...}`` of a batch (no state)."""

    def summarize(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Summary of a set of this metric's rows: the mean of the value column and n (metrics
        add their diagnostics and ``warnings``)."""
        col = self.info.value_column
        vals = [float(r[col]) for r in rows if is_number(r.get(col))]
        return {col: float(np.mean(vals)) if vals else None, "n": len(vals)}

    def reset(self) -> None:
        """Forget everything."""
        self._rows: list[dict[str, Any]] = []

    def update(self, batch: MetricBatch) -> list[dict[str, Any]]:
        """:meth:`score`, keeping the rows for :meth:`compute`."""
        rows = self.score(batch)
        self._rows.extend(rows)
        return rows

    def compute(self) -> dict[str, Any]:
        """:meth:`summarize` over every row seen since :meth:`reset`."""
        return self.summarize(self._rows)


class DistributionMetric(Metric):
    """A metric over a whole set, kept as mergeable sufficient statistics."""

    def update_sets(self, fake: np.ndarray | None, real: np.ndarray | None) -> None:
        """Add outputs (fake) and ground truths (real), uint8 N x H x W x 3; sizes may differ."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The statistics (arrays and numbers; saved without pickles)."""
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the statistics."""
        raise NotImplementedError

    def merge(self, other: DistributionMetric) -> DistributionMetric:
        """Add another shard's statistics (returns self)."""
        raise NotImplementedError


def is_number(v: Any) -> bool:
    """A finite int or float (numpy too), not a bool: a value a mean can use."""
    return (
        isinstance(v, (int, float, np.number))
        and not isinstance(v, (bool, np.bool_))
        and np.isfinite(v)
    )
