"""The ``lcad`` model of the evaluation harness, on the converted tiny pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from lcad_bench.errors import MissingInputError, UsageError
from lcad_bench.models import ColorizationRequest, create_model


def test_without_checkpoint_points_to_the_docs(tmp_path):
    with pytest.raises(MissingInputError, match="docs/lcad.md"):
        create_model("lcad")
    with pytest.raises(MissingInputError, match="model_index.json"):
        create_model("lcad", {"checkpoint": str(tmp_path)})


def test_lcad_model_colorizes(tiny_pipe, tmp_path):
    from lcad_bench.imaging import luminance_and_gray, srgb_to_lab

    d = tmp_path / "ckpt"
    tiny_pipe.save_pretrained(d)
    with pytest.raises(UsageError, match="unknown preset"):
        create_model("lcad", {"checkpoint": str(d), "preset": "fast"})
    m = create_model("lcad", {"checkpoint": str(d), "steps": 2, "resolution": 32})
    rgb = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    lum, gray = luminance_and_gray(rgb)
    reqs = [
        ColorizationRequest("k", "p#0", "complete", lum, gray, "a red car", seed=s)
        for s in (3, 3, 4)
    ]
    out = m.colorize(reqs)
    assert all(o.dtype == np.uint8 and o.shape == (32, 32, 3) for o in out)
    # Batch invariance (docs/lcad.md#batch-invariance): identical requests at two batch positions
    # agree to one uint8 level in float32 -- CPU (and GPU) GroupNorm/matmul kernels round
    # differently per batch position and thread count, so an occasional value lands one level
    # apart -- and to 1e-10 in float64 with equal uint8 outputs (below): no sample leaks.
    d01 = np.abs(out[0].astype(np.int16) - out[1].astype(np.int16))
    assert d01.max() <= 1 and (d01 == 0).mean() >= 0.99
    assert np.abs(out[0].astype(np.int16) - out[2].astype(np.int16)).max() > 1  # another seed
    # same seed and prompt through the pipeline directly gives the same pixels (up to fp32 batch
    # noise moving a rounding by one level)
    import torch

    ref = tiny_pipe(
        ["a red car"],
        luminance=[lum],
        num_inference_steps=2,
        resolution=32,
        generator=[torch.Generator("cpu").manual_seed(3)],
        output_type="np",
    ).images[0]
    direct = np.clip(np.rint(ref * 255), 0, 255).astype(np.int16)
    assert np.abs(out[0].astype(np.int16) - direct).max() <= 1
    lr = create_model(
        "lcad", {"checkpoint": str(d), "steps": 2, "resolution": 32, "postprocess": "l_replace"}
    )
    o = lr.colorize(reqs[:1])[0]
    assert lr.luminance_replaced and np.abs(srgb_to_lab(o)[..., 0] - lum).mean() < 2.0
    files = m.config()["files_sha256"]
    assert "model_index.json" in files and "scheduler/scheduler_config.json" in files
    assert any(f.endswith(".safetensors") for f in files)


def _tiny_folder(d):
    """The file layout of a converted pipeline, with stand-in contents."""
    for rel, text in {"model_index.json": '{"_class_name": "LCADPipeline"}',
                      "scheduler/scheduler_config.json": '{"steps_offset": 1}',
                      "unet/config.json": '{"sample_size": 32}',
                      "unet/diffusion_pytorch_model.safetensors": "weights",
                      "vae/config.json": '{"scaling_factor": 0.18215}',
                      "tokenizer/vocab.json": '{"a": 0}'}.items():  # fmt: skip
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text)
    return d


def test_config_hash_covers_every_file_of_the_checkpoint(tmp_path):
    """A changed scheduler, unet or vae config, model_index.json or tokenizer file changes the
    config hash (and so the output-cache key), not only changed weights."""
    from lcad_bench.evaluation.plan import config_hash

    d = _tiny_folder(tmp_path / "ckpt")

    def h():
        return config_hash(create_model("lcad", {"checkpoint": str(d)}).config())

    seen = {h()}
    for rel in ("scheduler/scheduler_config.json", "model_index.json", "unet/config.json",
                "vae/config.json", "tokenizer/vocab.json", "unet/diffusion_pytorch_model.safetensors"):  # fmt: skip
        (d / rel).write_text((d / rel).read_text() + " ")
        seen.add(h())
    assert len(seen) == 7  # every change gave a new hash
    # a text encoder linked in from elsewhere is part of the model
    other = tmp_path / "clip"
    other.mkdir()
    (other / "config.json").write_text("{}")
    (d / "text_encoder").symlink_to(other, target_is_directory=True)
    files = create_model("lcad", {"checkpoint": str(d)}).config()["files_sha256"]
    assert "text_encoder/config.json" in files
    linked = h()
    (other / "config.json").write_text('{"hidden_size": 8}')
    assert h() != linked


def test_lcad_batch_positions_agree_in_float64(tiny_pipe64):
    """In float64 identical requests at different batch positions agree to rounding (measured
    ~4e-14, with 1 or 2 threads: batch-dependent BLAS blocking, no sample leaking into another)
    and their uint8 outputs are equal exactly; the float32 one-level differences of
    test_lcad_model_colorizes are float32 rounding of the same kind (docs/lcad.md#batch-invariance)."""
    import torch

    from lcad_bench.imaging import luminance_and_gray, to_uint8

    rgb = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    lum, _ = luminance_and_gray(rgb)
    res = tiny_pipe64(
        ["a red car", "a red car", "a blue car", "a red car"],
        luminance=[lum] * 4,
        num_inference_steps=2,
        resolution=32,
        generator=[torch.Generator("cpu").manual_seed(s) for s in (3, 3, 3, 3)],
        output_type="pt",
    )
    x = res.latents
    assert x.dtype == torch.float64  # computed in float64 (images are returned as float32)
    assert float((x[0] - x[1]).abs().max()) <= 1e-10
    assert float((x[0] - x[3]).abs().max()) <= 1e-10
    u8 = [to_uint8(im.permute(1, 2, 0).numpy()) for im in res.images]
    assert np.array_equal(u8[0], u8[1]) and np.array_equal(u8[0], u8[3])
    assert not np.array_equal(u8[0], u8[2])  # the prompt matters
