"""Metric interface: metadata as data (:class:`MetricInfo`), batches (:class:`MetricBatch`) and the
streaming :class:`Metric` protocol ``reset() / update(batch) -> rows / compute() -> dict``.

Nothing here imports torch: the metric modules import it inside the functions that need it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True, slots=True)
class WeightFile:
    """One pretrained file a metric needs, as the packaged manifest (``lcad_bench.metrics.weights``) lists it.

    ``location`` says where the file lives: ``"torch_hub"`` is the torch hub download cache
    (``$TORCH_HOME/hub/checkpoints``, where torchvision and pytorch-fid look too); ``"package"``
    is a file shipped inside an installed Python package (``package`` / ``package_path``).
    ``sha256_prefix_only`` marks entries whose full sha256 could not be verified from a reliable
    source: ``sha256`` then holds the known prefix and checks compare only that prefix.
    """

    name: str
    sha256: str
    url: str
    licence: str
    metrics: tuple[str, ...] = ()
    location: Literal["torch_hub", "package"] = "torch_hub"
    cache_subdir: str = "hub/checkpoints"
    package: str = ""
    package_path: str = ""
    size_bytes: int | None = None
    sha256_prefix_only: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for ``results.json`` and ``lcad-bench weights --json``)."""
        return {
            "name": self.name, "sha256": self.sha256, "sha256_prefix_only": self.sha256_prefix_only,
            "url": self.url, "licence": self.licence, "metrics": list(self.metrics),
            "location": self.location, "size_bytes": self.size_bytes,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """Facts about a metric, declared once and read by the runner, results, CLI and leaderboard."""

    name: str
    display_name: str
    description: str
    higher_is_better: bool
    range: tuple[float, float]
    kind: Literal["per_sample", "distribution"]
    decimals: int
    backend: str
    weights: tuple[WeightFile, ...] = ()
    # the per-sample column that holds the metric's value (defaults to ``name``)
    column: str = ""
    # further per-sample columns the metric writes (diagnostics)
    extra_columns: tuple[str, ...] = ()

    @property
    def value_column(self) -> str:
        """Column of the per-sample rows holding the metric's value."""
        return self.column or self.name

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name, "display_name": self.display_name, "description": self.description,
            "higher_is_better": self.higher_is_better, "range": list(self.range), "kind": self.kind,
            "decimals": self.decimals, "backend": self.backend,
            "weights": [w.to_dict() for w in self.weights],
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
    """A streaming metric. ``update`` returns one row per sample (``{"key": ..., column: value}``)
    that goes straight to the samples table, and keeps only what ``compute`` needs (running sums
    or sufficient statistics), so memory stays flat as the data grows."""

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


class MeanAccumulator:
    """Running float64 mean of a per-sample value (count, sum, sum of squares)."""

    __slots__ = ("n", "total", "total_sq")

    def __init__(self) -> None:
        self.n = 0
        self.total = 0.0
        self.total_sq = 0.0

    def add(self, values: Sequence[float] | np.ndarray) -> None:
        """Add values."""
        v = np.asarray(values, dtype=np.float64).ravel()
        self.n += int(v.size)
        self.total += float(v.sum())
        self.total_sq += float((v * v).sum())

    @property
    def mean(self) -> float | None:
        """Mean, or None when empty."""
        return self.total / self.n if self.n else None

    @property
    def std(self) -> float | None:
        """Population standard deviation, or None when empty."""
        if not self.n:
            return None
        m = self.total / self.n
        return float(np.sqrt(max(self.total_sq / self.n - m * m, 0.0)))


def as_float64(images: np.ndarray) -> np.ndarray:
    """uint8 N x H x W x 3 -> float64 in [0, 255]."""
    return np.asarray(images, dtype=np.float64)
