"""benchmarks/lcad_gpu.py: skips cleanly without CUDA, and its official-pattern baseline samples the same thing."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lcad_gpu.py"


def _load():
    spec = importlib.util.spec_from_file_location("lcad_gpu_bench", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_skips_without_cuda(tmp_path, monkeypatch):
    mod = _load()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "r.json"
    assert mod.main(["--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {"skipped": "no CUDA device"}


def test_official_pattern_equals_pipeline(tiny_pipe):
    mod = _load()
    g = torch.Generator().manual_seed(0)
    hint = torch.rand(2, 3, 32, 32, generator=g) * 0.7 - 1
    lat = torch.randn(2, 4, 16, 16, generator=g)
    prompts = ["the red cup", "a cup"]
    ours = tiny_pipe(prompts, hint=hint, latents=lat, num_inference_steps=3, output_type="pt")
    theirs = mod.official_pattern_sample(tiny_pipe, hint, prompts, 3, 4.5, lat)
    assert float((ours.images - (theirs.clamp(-1, 1) + 1) / 2).abs().max()) < 1e-4
