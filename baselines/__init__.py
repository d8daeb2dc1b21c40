"""lcad_bench.baselines (installed from the top-level `baselines/` folder)."""
