"""Glue between the runner and the metrics package: one :class:`~lcad_bench.evaluation.runner.MetricSuite`
built from metric names, with weight checks (a requested metric without weights is an error;
the default set runs what is available and records what it skipped and why)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lcad_bench.errors import MissingInputError
from lcad_bench.evaluation.runner import Item, MetricSuite, Prepared


def linked_phrases(prep: Prepared) -> list[Any]:
    """CWHR inputs of a pair: one LinkedPhrase per mask (phrase k <-> mask k)."""
    from lcad_bench.metrics.base import LinkedPhrase

    out = []
    if prep.masks is None:
        return out
    for k, ph in enumerate(prep.phrases):
        if k >= len(prep.masks) or not ph:
            continue
        out.append(LinkedPhrase(
            colours=tuple(c["canonical"] for c in ph.get("colours", [])),
            mask=prep.masks[k], link=ph.get("link"), category=(ph.get("object") or {}).get("lemma", ""),
            phrase_id=ph.get("phrase_id"), nonhue=bool(ph.get("nonhue")),
            kept_fraction=prep.mask_kept[k] if k < len(prep.mask_kept) else 1.0,
        ))  # fmt: skip
    return out


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
        self.names = [
            c for m in self.per.values() for c in (m.info.value_column, *m.info.extra_columns)
        ]
        self.distribution_names = list(self.dist_proto)
        self.dist: dict[str, dict[str, Any]] = {}

    def per_sample(
        self, items: Sequence[Item], preds, gts, preps: Sequence[Prepared]
    ) -> list[dict[str, Any]]:
        from lcad_bench.metrics.base import MetricBatch

        batch = MetricBatch.from_lists(
            [it.key for it in items], preds, gts, [linked_phrases(p) for p in preps]
        )
        rows: list[dict[str, Any]] = [{} for _ in items]
        for m in self.per.values():
            for i, r in enumerate(m.update(batch)):
                rows[i].update({k: v for k, v in r.items() if k != "key"})
        return rows

    def update_distribution(self, level: str, preds, gts) -> None:
        if not self.dist_proto:
            return
        from lcad_bench.metrics.base import MetricBatch

        d = self.dist.setdefault(level, {})
        for n in self.dist_proto:
            if n not in d:
                d[n] = self.factories[n]() if n in self.factories else type(self.dist_proto[n])()
            d[n].update(MetricBatch.from_lists([str(i) for i in range(len(preds))], preds, gts))

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
        return {
            lv: {n: m.state_dict() for n, m in d.items() if hasattr(m, "state_dict")}
            for lv, d in self.dist.items()
        }

    def merge_distribution_state(self, state: dict[str, dict[str, Any]]) -> None:
        for lv, d in state.items():
            mine = self.dist.setdefault(lv, {})
            for n, st in d.items():
                if n not in self.dist_proto:
                    continue
                other = self.factories[n]() if n in self.factories else type(self.dist_proto[n])()
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
        out[k] = float(v) if isinstance(v, np.floating) else v
    return out


def build_suite(names: Sequence[str] | None, explicit: bool) -> ProtocolSuite:
    """The suite for ``names`` (default: ``DEFAULT_METRICS``)."""
    from lcad_bench.metrics import DEFAULT_METRICS, available, get_metric

    wanted = list(names) if names else list(DEFAULT_METRICS)
    runnable, skipped = available(wanted)
    if explicit and skipped:
        name, why = next(iter(skipped.items()))
        raise MissingInputError(f"metric {name!r} was requested but cannot run: {why}")
    return ProtocolSuite(
        {n: get_metric(n) for n in runnable},
        skipped,
        {n: (lambda n=n: get_metric(n)) for n in runnable},
    )
