"""Evaluation: plan a run (:mod:`.plan`), prepare inputs (:mod:`.inputs`), cache outputs
(:mod:`.cache`), score with a metric suite (:mod:`.suite`), aggregate (:mod:`.aggregate`) and
write the run folder (:mod:`.rundir`, the owner of its format); :mod:`.merge` combines shards,
:mod:`.distributed` runs one evaluation over the processes of an accelerate/torchrun launch, and
:mod:`.exchange` owns the files exchanged with methods outside Python (export-inputs,
evaluate --predictions)."""
