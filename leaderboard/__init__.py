"""lcad_bench.leaderboard (installed from the top-level `leaderboard/` folder)."""
