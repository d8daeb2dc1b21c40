"""The metrics of a run behind one small interface (:class:`MetricSuite`), and the protocol's
suite built from metric names (:func:`build_suite`, which applies the one run rule of
:func:`lcad_bench.metrics.resolve_metrics`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lcad_bench.evaluation.inputs import Prepared
from lcad_bench.evaluation.plan import Item
from lcad_bench.evaluation.rundir import select_rows
from lcad_bench.metrics.base import ColumnInfo, LinkedPhrase, MetricBatch


class MetricSuite:
    """What the runner needs from a set of metrics.

    ``per_sample(items, preds, gts, preps)`` returns one dict of values per sample;
    ``columns()`` declares those values (display facts and storage type; undeclared values are
    typed from their data); ``summarize(level, rows)`` gives per-metric summaries of a level's
    rows; ``update_distribution(level, preds, gts)`` feeds distribution metrics (FID) with a
    level's outputs and the ground truths of its pairs (one per pair); ``compute_distribution()``
    returns {level: {metric: result}}."""

    names: list[str] = []
    distribution_names: list[str] = []
    skipped: dict[str, str] = {}

    def columns(self) -> list[ColumnInfo]:
        """The per-sample columns (default: one aggregated float column per name)."""
        return [ColumnInfo(n, n, "", None) for n in self.names]

    def per_sample(
        self,
        items: Sequence[Item],
        preds: Sequence[np.ndarray],
        gts: Sequence[np.ndarray],
        preps: Sequence[Prepared],
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def summarize(self, level: str, rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """{metric: summary} of one level's rows (default: none)."""
        return {}

    def update_distribution(
        self, level: str, preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]
    ) -> None:
        return None

    def compute_distribution(self) -> dict[str, dict[str, Any]]:
        return {}

    def metadata(self) -> dict[str, Any]:
        return {}

    def distribution_state(self) -> dict[str, dict[str, Any]]:
        """{level: {metric: state}} of the distribution metrics (for ``merge``)."""
        return {}

    def merge_distribution_state(self, state: dict[str, dict[str, Any]]) -> None:
        """Add another shard's distribution state."""
        return None


def linked_phrases(prep: Prepared, described: frozenset[int] | None = None) -> list[LinkedPhrase]:
    """CWHR inputs of a sample: one LinkedPhrase per mask (phrase k <-> mask k), keeping only the
    phrases its description still names (``described``: phrase ids, None for all)."""
    from lcad_bench.metrics.cwhr import phrases_from_records

    if prep.masks is None:
        return []
    keep = [
        k for k, ph in enumerate(prep.phrases)
        if ph and (described is None or ph.get("phrase_id") in described)
    ]  # fmt: skip
    if not keep:
        return []
    return phrases_from_records(
        [prep.phrases[k] for k in keep],
        prep.masks[keep],
        [prep.mask_kept[k] if k < len(prep.mask_kept) else 1.0 for k in keep],
    )


class ProtocolSuite(MetricSuite):
    """Per-sample metrics for every sample and one distribution metric instance per level."""

    def __init__(
        self,
        metrics: dict[str, Any],
        skipped: dict[str, str],
        factories: dict[str, Any] | None = None,
    ) -> None:
        """``metrics``: name -> metric instance; ``factories``: name -> callable making a fresh
        instance of a distribution metric (one per level)."""
        self.metrics = metrics
        self.factories = factories or {}
        self.skipped = dict(skipped)
        self.per = {n: m for n, m in metrics.items() if m.info.kind == "per_sample"}
        self.dist_proto = {n: m for n, m in metrics.items() if m.info.kind == "distribution"}
        self.names = [c.name for c in self.columns() if c.dtype == "float" and not c.derived_from]
        self.distribution_names = list(self.dist_proto)
        self.dist: dict[str, dict[str, Any]] = {}

    def columns(self) -> list[ColumnInfo]:
        return [c for m in self.per.values() for c in m.info.columns]

    def per_sample(
        self, items: Sequence[Item], preds, gts, preps: Sequence[Prepared]
    ) -> list[dict[str, Any]]:
        phrases = [linked_phrases(p, it.described_phrase_ids) for it, p in zip(items, preps)]
        batch = MetricBatch.from_lists([it.key for it in items], preds, gts, phrases)
        rows: list[dict[str, Any]] = [{} for _ in items]
        for m in self.per.values():
            for i, r in enumerate(m.score(batch)):
                rows[i].update({k: v for k, v in r.items() if k != "key"})
        return rows

    def summarize(self, level: str, rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        ok = select_rows(rows, lambda r: not r.get("error"))  # lazy for a RowSpool
        return {n: _jsonable(m.summarize(ok)) for n, m in self.per.items()}

    def _fresh(self, n: str) -> Any:
        return self.factories[n]() if n in self.factories else type(self.dist_proto[n])()

    def update_distribution(self, level: str, preds, gts) -> None:
        if not self.dist_proto:
            return
        d = self.dist.setdefault(level, {})
        fake = np.stack(list(preds)) if len(preds) else None
        real = np.stack(list(gts)) if len(gts) else None
        for n in self.dist_proto:
            if n not in d:
                d[n] = self._fresh(n)
            d[n].update_sets(fake, real)

    def compute_distribution(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for lv, d in self.dist.items():
            out[lv] = {}
            for n, m in d.items():
                try:
                    res = _jsonable(m.compute())
                    res.setdefault("value", res.get(n))  # one key for every distribution metric
                    out[lv][n] = res
                except ValueError as exc:  # e.g. a shard with one sample at a level: no covariance
                    out[lv][n] = {"value": None, "error": str(exc)}
        return out

    def metadata(self) -> dict[str, Any]:
        return {n: m.describe() for n, m in self.metrics.items()}

    def distribution_state(self) -> dict[str, dict[str, Any]]:
        return {lv: {n: m.state_dict() for n, m in d.items()} for lv, d in self.dist.items()}

    def merge_distribution_state(self, state: dict[str, dict[str, Any]]) -> None:
        for lv, d in state.items():
            mine = self.dist.setdefault(lv, {})
            for n, st in d.items():
                if n not in self.dist_proto:
                    continue
                other = self._fresh(n)
                other.load_state_dict(st)
                if n in mine:
                    mine[n].merge(other)
                else:
                    mine[n] = other


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.ndarray):
            continue
        out[k] = v.item() if isinstance(v, np.generic) else v
    return out


def build_suite(names: Sequence[str] | None = None, *, check_weights: bool = True) -> ProtocolSuite:
    """The suite for ``names`` (None: the default set). With ``check_weights`` the run rule of
    :func:`~lcad_bench.metrics.resolve_metrics` decides what runs; without (``merge``, which only
    combines saved rows and statistics) every named metric is built and no weight is read."""
    from lcad_bench.metrics import DEFAULT_METRICS, canonical_name, get_metric, resolve_metrics

    if check_weights:
        runnable, skipped = resolve_metrics(names)
    else:
        runnable = list(
            dict.fromkeys(canonical_name(n) for n in (DEFAULT_METRICS if names is None else names))
        )
        skipped = {}
    return ProtocolSuite(
        {n: get_metric(n) for n in runnable},
        skipped,
        {n: (lambda n=n: get_metric(n)) for n in runnable},
    )
