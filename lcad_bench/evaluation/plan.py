"""What a run will do, resolved from its arguments: the split's records (sharded, limited), one
:class:`Item` per (pair, level, seed), and the model configuration whose hash keys the output
cache (docs/protocol.md#seeds, docs/protocol.md#evaluation-unit)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lcad_bench.errors import UsageError
from lcad_bench.evaluation import rundir
from lcad_bench.fileio import content_sha256
from lcad_bench.models import Colorizer
from lcad_bench.protocol import EVAL_RESOLUTION, LEVELS, RESIZE_POLICY, SEED_RULE, pair_seed
from lcad_bench.splits import PairRecord, Split, load_split

# What the model reads as its text: the record's description at the item's level.
TEXT_FIELD = "descriptions[level]"


def config_hash(cfg: Any) -> str:
    """sha256 of the canonical JSON of ``cfg``."""
    return content_sha256(cfg)


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> (i, n)."""
    if not spec:
        return None
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError as exc:
        raise UsageError(
            f"--shard {spec!r}: expected i/n with 0 <= i < n, e.g. --shard 0/4"
        ) from exc
    if not 0 <= i < n:
        raise UsageError(f"--shard {spec!r}: expected i/n with 0 <= i < n, e.g. --shard 0/4")
    return i, n


def in_shard(pair_id: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic shard membership of a pair."""
    if shard is None:
        return True
    return int(hashlib.sha256(pair_id.encode()).hexdigest()[:8], 16) % shard[1] == shard[0]


def rank_shard(shard: tuple[int, int] | None, rank: int, world_size: int) -> tuple[int, int]:
    """The shard of process ``rank`` of a data-parallel run of ``world_size`` processes over the
    pairs of ``shard`` (None: all pairs): shard ``(i + n * rank, n * world_size)``. A pair with
    ``h % (n * w) == i + n * r`` has ``h % n == i``, so the processes partition the user's shard
    exactly (with ``(rank, world_size)`` instead, ``--shard 0/2`` on 2 processes would leave one
    process nothing, as both rules read the same hash)."""
    i, n = shard or (0, 1)
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside a world of {world_size} processes")
    return i + n * rank, n * world_size


@dataclass
class Item:
    """One (pair, level, seed) of the run."""

    record: PairRecord
    level: str
    s: int
    seed: int
    description: str
    key: str = ""
    path: Path | None = None
    error: str | None = None
    computed: bool = False

    @property
    def described_phrase_ids(self) -> frozenset[int] | None:
        """Ids of the colour phrases the item's description still holds (None: all of them).
        Colour-word hit rate scores only these: a colour the text no longer names is not a
        unit (docs/protocol.md#colour-word-hit-rate)."""
        if self.level == "complete":
            return None
        if self.level == "partial":
            return frozenset(self.record.partial_kept_phrase_ids or ())
        return frozenset()


@dataclass
class RunPlan:
    """What a run will do, resolved from its arguments."""

    split: Split
    items: list[Item]
    model: Colorizer
    model_info: dict[str, Any]
    config: dict[str, Any]
    config_hash: str
    out: Path
    levels: list[str]
    base_seed: int
    n_seeds: int
    shard: tuple[int, int] | None
    limit: int | None = None
    resolution: int = EVAL_RESOLUTION
    resize_policy: str = RESIZE_POLICY
    counts: dict[str, int] = field(default_factory=dict)


def plan_run(
    model: Colorizer,
    split_path: str | Path,
    out: str | Path,
    levels: Sequence[str] | None = None,
    limit: int | None = None,
    base_seed: int = 0,
    n_seeds: int = 1,
    shard: tuple[int, int] | None = None,
) -> RunPlan:
    """Resolve the run: records (sharded, limited), items, model config hash, cache layout.
    Arguments that would run nothing, or something other than asked, are usage errors."""
    check_run_args(levels, limit, n_seeds)
    split = load_split(split_path)
    lv = list(levels or LEVELS)
    if not split.records:
        raise UsageError(
            f"{split_path}: the split holds no pairs; nothing to evaluate (rebuild it)"
        )
    records = [r for r in split.records if in_shard(r.pair_id, shard)]
    if not records:
        raise UsageError(
            f"shard {shard[0]}/{shard[1]} of {split_path} holds none of its {len(split.records)} pairs; "
            "use fewer shards"
        )  # fmt: skip
    if limit is not None:
        records = records[:limit]
    info = model.describe()
    cfg = {
        "model": {k: info[k] for k in ("name", "version", "config")},
        "resolution": EVAL_RESOLUTION,
        "resize_policy": RESIZE_POLICY,
        "text_field": TEXT_FIELD,
        "seed_rule": SEED_RULE,
        "base_seed": base_seed,
    }
    items = []
    for r in records:
        for level in lv:
            desc = r.descriptions.get(level)
            if desc is None:
                continue
            for s in range(n_seeds):
                items.append(Item(r, level, s, pair_seed(base_seed, r.pair_id, s), desc))
    if not items:
        raise UsageError(
            f"no pair of {split_path} defines a description at level(s) {', '.join(lv)}; nothing to evaluate"
        )
    h = config_hash(cfg)
    rundir.require_unique(
        (rundir.output_relpath(h, it.level, it.record.pair_id, it.s) for it in items), "outputs"
    )
    keys = {it.record.image_key for it in items}
    rundir.require_unique((rundir.gt_relpath(k) for k in keys), "ground truths")
    return RunPlan(split, items, model, info, cfg, h, Path(out), lv, base_seed, n_seeds, shard,
                   limit)  # fmt: skip


def check_run_args(
    levels: Sequence[str] | None, limit: int | None, n_seeds: int, batch_size: int = 1
) -> None:
    """Usage errors for arguments that would run nothing or something else than asked."""
    if levels is not None:
        if len(levels) == 0:
            raise UsageError("--levels needs at least one level")
        bad = [x for x in levels if x not in LEVELS]
        if bad:
            raise UsageError(f"unknown level(s) {bad}; levels are {', '.join(LEVELS)}")
        dup = sorted({x for x in levels if list(levels).count(x) > 1})
        if dup:
            raise UsageError(
                f"--levels names {', '.join(dup)} more than once; list each level once"
            )
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UsageError(f"--limit must be a positive number of pairs, got {limit}")
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
        raise UsageError(f"--n-seeds must be at least 1, got {n_seeds}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {batch_size}")
