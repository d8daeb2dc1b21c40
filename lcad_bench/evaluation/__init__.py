"""Evaluation: plan a run (:mod:`.plan`), prepare inputs (:mod:`.inputs`), cache outputs
(:mod:`.cache`), score with a metric suite (:mod:`.suite`), aggregate (:mod:`.aggregate`) and
write the run folder (:mod:`.rundir`, the owner of its format); :mod:`.merge` combines shards."""
