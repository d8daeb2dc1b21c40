"""Run identity: what makes two runs the same run, and what makes a run partial.

A run id is ``<model name>-<sha256[:16]>`` of the canonical JSON of :func:`run_identity`: the
model configuration (name, version, config and everything the config hash covers), the split's
content hash, the protocol block, the evaluated levels, ``--limit`` and the seeds. A shard adds
``-shard<i>of<n>`` (``lcad-bench merge`` strips it: the merged run is the full run). Two runs
share an id only when they evaluated the same content the same way, so a ``--limit`` or
``--levels`` run never takes the place of the full run (docs/protocol.md#results-file).

A run is *partial* when it ran with ``--limit``, on a subset of the levels or as an unmerged
shard: :func:`partial_reasons` is the one rule (the runner records nothing else; ``summarize``
applies it to what ``results.json`` records).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lcad_bench.fileio import content_sha256
from lcad_bench.protocol import LEVELS

ID_HASH_CHARS = 16
SHARD_SUFFIX = "-shard{}of{}"  # the one format of a shard's run-id suffix (i, n)
_SHARDED_ID = re.compile(
    rf"(-[0-9a-f]{{{ID_HASH_CHARS}}})"
    + re.escape(SHARD_SUFFIX).replace(re.escape("{}"), r"\d+")
    + r"\Z"
)


def ordered_levels(levels: Sequence[str] | None) -> list[str]:
    """Levels in protocol order, without repeats (None: every level)."""
    if levels is None:
        return list(LEVELS)
    have = set(levels)
    return [lv for lv in LEVELS if lv in have] + sorted(have - set(LEVELS))


def run_identity(
    *,
    model_config: Mapping[str, Any],
    split_content_hash: str,
    protocol: Mapping[str, Any],
    levels: Sequence[str] | None,
    limit: int | None,
    seeds: Mapping[str, Any],
) -> dict[str, Any]:
    """The facts a run id hashes (the shard is added by :func:`run_id_of`)."""
    proto = {k: v for k, v in protocol.items() if k != "levels"}
    return {
        "model": dict(model_config),
        "split_content_hash": split_content_hash,
        "protocol": proto,
        "levels": ordered_levels(levels),
        "limit": limit,
        "seeds": dict(seeds),
    }


def run_id_of(model_name: str, identity: Mapping[str, Any], shard: Sequence[int] | None) -> str:
    """``<model>-<hash16>`` (+ ``-shard<i>of<n>``)."""
    suffix = SHARD_SUFFIX.format(*shard) if shard else ""
    return f"{model_name}-{content_sha256(dict(identity))[:ID_HASH_CHARS]}{suffix}"


def unsharded_run_id(run_id: str) -> str:
    """The id of the full run a shard's ``run_id`` belongs to: the shard suffix removed, and only
    that (anchored after the hash at the end, so a model named ``my-sharded`` keeps its name)."""
    return _SHARDED_ID.sub(r"\1", run_id)


def partial_reasons(
    levels: Sequence[str] | None, limit: int | None, shard: Sequence[int] | None
) -> list[str]:
    """Why a run is partial (empty: a full run): ``--limit``, a subset of the levels, a shard."""
    out = []
    if limit is not None:
        out.append(f"limit {limit}")
    lv = ordered_levels(levels)
    if set(lv) != set(LEVELS):
        out.append(f"levels {', '.join(lv)}")
    if shard:
        why = "merge first" if limit is None else "a limited shard: cannot be merged"
        out.append(f"shard {shard[0]}/{shard[1]} ({why})")
    return out
