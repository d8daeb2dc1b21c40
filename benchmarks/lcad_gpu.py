"""GPU timing of full-size L-CAD sampling with random weights (no checkpoint needed).

Times ``LCADPipeline`` (luminance features computed once, SDPA attention) against the official
call pattern (luminance encoder recomputed at every UNet call and again for decoding, explicit
softmax attention, no SDPA) at 256², 50 DDIM steps, CFG 4.5, batch 1 and 8, fp32 and fp16.
Writes ``benchmarks/results/lcad_gpu.json``. Without CUDA it writes ``{"skipped": "no CUDA device"}``
and exits 0.

    python benchmarks/lcad_gpu.py [--steps 50] [--repeats 3] [--batches 1 8] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "lcad_gpu.json"


def _write(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def _tokenizer():
    """A byte-level CLIP tokenizer built in memory (timing does not depend on the vocabulary)."""
    from lcad_bench.testing import tiny_clip_tokenizer

    return tiny_clip_tokenizer()


def build_pipeline(device, dtype):
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from lcad_bench.lcad.components import (
        clip_vit_l14_text_config,
        luminance_config,
        unet_config,
        vae_config,
    )
    from lcad_bench.lcad.luminance import LuminanceEncoder
    from lcad_bench.lcad.pipeline import LCADPipeline

    tok = _tokenizer()
    text_cfg = {
        **clip_vit_l14_text_config(),
        "vocab_size": len(tok),
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }
    torch.manual_seed(0)
    with torch.device(device):
        pipe = LCADPipeline(
            unet=UNet2DConditionModel(**unet_config()),
            vae=AutoencoderKL(**vae_config()),
            luminance_encoder=LuminanceEncoder(**luminance_config(), zero_init=False),
            text_encoder=CLIPTextModel(CLIPTextConfig(**text_cfg)),
            tokenizer=tok,
        )
    return pipe.to(device, dtype)


def official_pattern_sample(pipe, hint, prompts, steps: int, scale: float, latents):
    """The official call pattern: g_encoder on the 2B hint at every UNet call, no SDPA, decode re-encodes."""
    import torch

    from lcad_bench.lcad.decoder import decode_with_luminance

    ctl = pipe.controller
    ctl.reset()
    ctl.use_sdpa = False
    try:
        with torch.no_grad():
            b = hint.shape[0]
            context = torch.cat([pipe.encode_prompt([""] * b), pipe.encode_prompt(prompts)]).to(
                pipe.dtype
            )
            sched = pipe.scheduler
            sched.set_timesteps(steps, device=hint.device)
            x = latents
            for t in sched.timesteps:
                gray = pipe.luminance_encoder(torch.cat([hint, hint]))[-1]
                eps = pipe.unet_eps(torch.cat([x, x]), t, context, gray)
                eps_u, eps_c = eps.chunk(2)
                x = sched.step(eps_u + scale * (eps_c - eps_u), t, x, eta=0.0).prev_sample
            feats = pipe.luminance_encoder(hint)
            return decode_with_luminance(pipe.vae, x, feats)
    finally:
        ctl.use_sdpa = True


def _time(fn, repeats: int) -> list[float]:
    import torch

    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


def bench_one(pipe, batch: int, dtype_name: str, args: argparse.Namespace) -> list[dict]:
    """Time both implementations for one (dtype, batch) cell."""
    import torch

    dtype = getattr(torch, dtype_name)
    device = pipe.device
    g = torch.Generator().manual_seed(batch)
    hint = (torch.rand(batch, 3, args.resolution, args.resolution, generator=g) * 0.78 - 1).to(
        device
    )
    lat = torch.randn(batch, 4, args.resolution // 8, args.resolution // 8, generator=g).to(
        device, dtype
    )
    prompts = ["a red car on a gray street"] * batch

    def ours():
        return pipe(
            prompts,
            hint=hint,
            latents=lat,
            num_inference_steps=args.steps,
            guidance_scale=4.5,
            output_type="pt",
        )

    def official():
        return official_pattern_sample(pipe, hint.to(dtype), prompts, args.steps, 4.5, lat)

    rows = []
    for name, fn in (("lcad_bench", ours), ("official_pattern", official)):
        torch.cuda.reset_peak_memory_stats()
        fn()  # warm-up (cuDNN autotuning, allocator)
        times = _time(fn, args.repeats)
        row = {
            "impl": name,
            "dtype": dtype_name,
            "batch": batch,
            "resolution": args.resolution,
            "steps": args.steps,
            "cfg": 4.5,
            "seconds_median": statistics.median(times),
            "seconds_all": times,
            "seconds_per_image": statistics.median(times) / batch,
            "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
        }
        rows.append(row)
        print(
            f"{name:17s} {dtype_name:8s} batch {batch}: {row['seconds_median']:.2f} s ({row['seconds_per_image']:.3f} s/image)"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float16"])
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    import torch

    if not torch.cuda.is_available():
        _write(args.out, {"skipped": "no CUDA device"})
        return 0
    import diffusers
    import transformers

    device = torch.device("cuda")
    results = []
    for dtype_name in args.dtypes:
        pipe = build_pipeline(device, getattr(torch, dtype_name))
        for batch in args.batches:
            results.extend(bench_one(pipe, batch, dtype_name, args))
        pipe = None
        torch.cuda.empty_cache()
    speedups = {}
    for r in results:
        if r["impl"] == "lcad_bench":
            o = next(
                x
                for x in results
                if x["impl"] == "official_pattern"
                and x["dtype"] == r["dtype"]
                and x["batch"] == r["batch"]
            )
            speedups[f"{r['dtype']}_b{r['batch']}"] = o["seconds_median"] / r["seconds_median"]
    _write(
        args.out,
        {
            "device": torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "diffusers": diffusers.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
            "weights": "random (full-size configs)",
            "results": results,
            "speedup_official_over_ours": speedups,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
