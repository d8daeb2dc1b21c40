"""Run identity (lcad_bench.evaluation.identity): a run id is a content hash of what the run
evaluated; partial runs are named by one rule."""

from __future__ import annotations

from lcad_bench.evaluation.identity import partial_reasons, run_id_of, run_identity

BASE = dict(model_config={"model": {"name": "gray", "version": "1", "config": {}}, "base_seed": 0},
            split_content_hash="a" * 64, protocol={"protocol_version": "1.0", "levels": ["complete"]},
            levels=None, limit=None, seeds={"base_seed": 0, "n_seeds": 1})  # fmt: skip


def rid(shard=None, **kw):
    return run_id_of("gray", run_identity(**(BASE | kw)), shard)


def test_every_identity_fact_changes_the_id():
    full = rid()
    assert full.startswith("gray-") and len(full) == len("gray-") + 16
    variants = {
        "limit": rid(limit=20),
        "levels": rid(levels=["complete", "sparse"]),
        "split content": rid(split_content_hash="b" * 64),
        "model config": rid(
            model_config={"model": {"name": "gray", "version": "2", "config": {}}, "base_seed": 0}
        ),
        "protocol": rid(protocol={"protocol_version": "1.1"}),
        "seeds": rid(seeds={"base_seed": 0, "n_seeds": 3}),
    }
    assert len(set(variants.values()) | {full}) == len(variants) + 1, variants
    assert (
        rid(shard=(1, 4)) == full + "-shard1of4"
    )  # merge strips the suffix: the merged run is the full run


def test_same_content_same_id():
    assert rid() == rid(
        levels=["none", "sparse", "partial", "complete"]
    )  # every level, in any order
    assert rid(levels=["sparse", "complete"]) == rid(levels=["complete", "sparse"])
    # the protocol block's "levels" entry is not a second copy of the levels in the hash
    assert rid(protocol={"protocol_version": "1.0", "levels": ["sparse"]}) == rid()


def test_partial_reasons():
    assert partial_reasons(None, None, None) == []
    assert partial_reasons(["none", "sparse", "partial", "complete"], None, None) == []
    assert partial_reasons(["complete", "sparse"], 10, [0, 2]) == [
        "limit 10", "levels complete, sparse", "shard 0/2 (a limited shard: cannot be merged)"]  # fmt: skip
    assert partial_reasons(None, None, [1, 2]) == ["shard 1/2 (merge first)"]


def test_run_short_id_uses_the_one_shard_suffix_rule():
    """The board's short run label strips only the exact shard suffix: a model named
    ``my-sharded`` keeps its hash, a shard shows its i-of-n."""
    from lcad_bench.leaderboard.summarize import run_short_id

    from lcad_bench.evaluation.identity import run_id_of

    ident = {"x": 1}
    full = run_id_of("my-sharded", ident, None)
    shard = run_id_of("my-sharded", ident, (1, 3))
    h = full.rsplit("-", 1)[-1]
    assert run_short_id(full) == h[:7]
    assert run_short_id(shard) == f"{h[:7]} shard 1of3"
