"""lcad_bench.builders (installed from the top-level `builders/` folder)."""
