"""Leaderboard at scale: 1,000 synthetic runs x 20 metrics x 4 levels.

Measures ``summarize`` over 1,000 run folders (results.json only) and the first render of the
leaderboard page in AppTest. Targets: summarize < 5 s, first render < 2 s.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from lcad_bench.protocol import LEVELS

N_RUNS = 1000
N_METRICS = 20
SUMMARIZE_TARGET_S = 5.0
RENDER_TARGET_S = 2.0


def _write_runs(root: Path) -> None:
    import numpy as np

    from lcad_bench.evaluation.rundir import Cell, Results
    from lcad_bench.metrics import catalogue

    cat = catalogue()
    rng = np.random.default_rng(0)
    metrics = [
        "psnr",
        "ssim",
        "lpips",
        "lpips_vgg",
        "cwhr_chromatic",
        "cwhr_achromatic",
        "delta_cf",
        "cf",
    ] + [f"extra_{i}" for i in range(N_METRICS - 8)]
    for r in range(N_RUNS):
        cells = []
        for m in metrics:
            for lv in LEVELS:
                # a value inside the range the metric catalogue declares (summarize leaves others out)
                lo, hi = cat[m].range if m in cat else (None, None)
                v = (
                    float(rng.uniform(lo, hi))
                    if lo is not None and hi is not None
                    else float(rng.normal(20, 3))
                )
                v = max(v, lo) if lo is not None else v
                cells.append(
                    Cell(
                        level=lv,
                        metric=m,
                        mean=v,
                        ci_low=v - 0.5,
                        ci_high=v + 0.5,
                        n_pairs=500,
                        n_images=250,
                    )
                )
        res = Results(
            run_id=f"model{r % 50:02d}-{r:06d}", created_at="2025-01-01T00:00:00Z",
            model={"name": f"model{r % 50:02d}", "version": "1", "config": {"i": r}, "config_hash": f"{r:064d}", "luminance_replaced": bool(r % 2)},
            split={"id": f"split{r % 3}", "content_hash": f"{r % 3:064d}", "n_pairs": 500, "n_images": 250, "limit": None, "shard": None},
            protocol={"protocol_version": "1.0"}, seeds={"base_seed": 0}, environment={}, metrics={}, aggregates=cells,
        )  # fmt: skip
        d = root / res.run_id
        d.mkdir(parents=True)
        (d / "results.json").write_text(res.model_dump_json())


def run() -> dict[str, Any]:
    from lcad_bench.leaderboard.summarize import summarize
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        t0 = time.perf_counter()
        _write_runs(root)
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        s = summarize([root], Path(tmp) / "board")
        summarize_s = time.perf_counter() - t0
        app = Path(__file__).resolve().parents[1] / "leaderboard" / "app.py"
        old = os.environ.get("LCAD_BENCH_LEADERBOARD")
        os.environ["LCAD_BENCH_LEADERBOARD"] = str(Path(tmp) / "board")
        try:
            AppTest.from_file(
                str(app), default_timeout=60
            ).run()  # warm-up: imports, first script compile
            from lcad_bench.leaderboard import views

            views._load_board.clear()
            t0 = time.perf_counter()
            at = AppTest.from_file(str(app), default_timeout=60).run()
            render_s = time.perf_counter() - t0
            assert not at.exception, at.exception
            shown = at.dataframe[0].value.shape
            t0 = time.perf_counter()
            at.sidebar.multiselect(key="lb_levels").set_value(["complete", "sparse"]).run()
            filter_s = time.perf_counter() - t0
        finally:
            if old is None:
                os.environ.pop("LCAD_BENCH_LEADERBOARD", None)
            else:
                os.environ["LCAD_BENCH_LEADERBOARD"] = old
    result = {
        "runs": N_RUNS, "metrics": N_METRICS, "levels": len(LEVELS), "rows": len(s.rows),
        "write_fixture_s": round(write_s, 3), "summarize_s": round(summarize_s, 3),
        "first_render_s": round(render_s, 3), "level_filter_rerun_s": round(filter_s, 3),
        "first_page_table_shape": list(shown),
        "summarize_target_s": SUMMARIZE_TARGET_S, "render_target_s": RENDER_TARGET_S,
        "meets_targets": summarize_s < SUMMARIZE_TARGET_S and render_s < RENDER_TARGET_S,
    }  # fmt: skip
    if not result["meets_targets"]:
        raise AssertionError(
            f"summarize {summarize_s:.2f} s (< {SUMMARIZE_TARGET_S}), first render {render_s:.2f} s (< {RENDER_TARGET_S})"
        )
    return result


if __name__ == "__main__":
    from benchmarks.common import write_result

    print(write_result("board", run()).read_text())
