"""sd-img2img end to end with a tiny random Stable Diffusion pipeline built in the test."""

from __future__ import annotations

import numpy as np
import pytest

from lcad_bench.errors import MissingInputError
from lcad_bench.models import ColorizationRequest, create_model


def _tiny_tokenizer():
    from lcad_bench.testing import tiny_clip_tokenizer

    return tiny_clip_tokenizer()


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionImg2ImgPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tok = _tiny_tokenizer()
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(32, 32), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                                attention_head_dim=2, norm_num_groups=32)  # fmt: skip
    vae = AutoencoderKL(block_out_channels=(32, 32), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=32, layers_per_block=1)  # fmt: skip
    te = CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                      num_attention_heads=4, max_position_embeddings=77, projection_dim=32,
                                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                      pad_token_id=tok.pad_token_id))  # fmt: skip
    sched = DDIMScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False
    )
    pipe = StableDiffusionImg2ImgPipeline(
        vae=vae,
        text_encoder=te,
        tokenizer=tok,
        unet=unet,
        scheduler=sched,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    out = tmp_path_factory.mktemp("tiny_sd")
    pipe.save_pretrained(out)
    return out


def test_sd_img2img_end_to_end(tiny_sd):
    from lcad_bench.imaging import luminance_and_gray, srgb_to_lab

    rgb = np.random.default_rng(0).integers(0, 255, (24, 20, 3), dtype=np.uint8)
    lum, gray = luminance_and_gray(rgb)
    model = create_model(
        "sd-img2img", {"model_dir": str(tiny_sd), "steps": 2, "strength": 0.5, "resolution": 32}
    )
    reqs = [
        ColorizationRequest("k", "p#0", "complete", lum, gray, "a red car", seed=s)
        for s in (1, 1, 2)
    ]
    outs = model.colorize(reqs)
    assert all(o.dtype == np.uint8 and o.shape == (24, 20, 3) for o in outs)
    assert np.array_equal(outs[0], outs[1])  # same seed, same output
    # luminance replacement: L* of the output follows the input's (up to gamut clipping, 8-bit)
    assert np.abs(srgb_to_lab(outs[0])[..., 0] - lum).mean() < 2.0


def test_sd_img2img_without_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("LCAD_BENCH_SD_MODEL", raising=False)
    with pytest.raises(MissingInputError, match="model_dir=DIR"):
        create_model("sd-img2img")
    with pytest.raises(MissingInputError, match="model_index.json"):
        create_model("sd-img2img", {"model_dir": str(tmp_path)})
