"""Recording package versions never imports torch: ``evaluate --model gray`` on the demo split
runs without it (the default metrics whose weights are missing are skipped, the rest are numpy)."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import sys
from lcad_bench.cli import main
rc = main(["evaluate", "--model", "gray", "--split", sys.argv[1], "--out", sys.argv[2], "-q"])
heavy = sorted(m for m in ("torch", "torchvision", "torchmetrics", "lpips", "pytorch_fid", "diffusers",
                           "transformers", "spacy", "thinc") if m in sys.modules)
print("RESULT", rc, ",".join(heavy) or "-")
"""


def test_gray_evaluate_on_the_demo_split_never_imports_torch(tmp_path, monkeypatch):
    from lcad_bench.builders.demo import build_demo

    build_demo(tmp_path / "demo", embed_images=True)
    # no network weights here (on a machine with them, LPIPS and FID run and need torch)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    p = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "demo"), str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=240, check=False)  # fmt: skip
    line = next(x for x in p.stdout.splitlines() if x.startswith("RESULT"))
    assert line == "RESULT 0 -", (line, p.stderr[-2000:])
    from lcad_bench.evaluation.rundir import load_results

    env = load_results(tmp_path / "run").environment
    assert env["torch"] and env["numpy"]  # versions are still recorded (importlib.metadata)
