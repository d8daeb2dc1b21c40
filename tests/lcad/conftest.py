"""Fixtures of the L-CAD tests: a generated tiny CLIP tokenizer, tiny components, the reference."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

import lcad_reference
from lcad_tiny_config import TINY_TEXT, TINY_UNET, TINY_VAE  # noqa: E402


def make_tiny_tokenizer():
    """A CLIPTokenizer over byte characters, their ``</w>`` forms and a few merges (520 tokens)."""
    from lcad_bench.testing import tiny_clip_tokenizer

    return tiny_clip_tokenizer(
        [("t", "h"), ("th", "e</w>"), ("c", "u"), ("cu", "p</w>"), ("r", "e"), ("re", "d</w>")]
    )


def make_tiny_text_encoder(tokenizer, seed: int = 0):
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg = CLIPTextConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **TINY_TEXT,
    )
    torch.manual_seed(seed)
    return CLIPTextModel(cfg).eval()


def make_tiny_modules():
    """Tiny project-side modules (random diffusers init, zero taps)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    from lcad_bench.lcad.components import luminance_config, unet_config, vae_config
    from lcad_bench.lcad.luminance import LuminanceEncoder

    torch.manual_seed(0)
    return {
        "unet": UNet2DConditionModel(**unet_config(**TINY_UNET)),
        "vae": AutoencoderKL(**vae_config(**TINY_VAE)),
        "luminance_encoder": LuminanceEncoder(**luminance_config(block_out_channels=(32, 64))),
    }


@pytest.fixture(scope="session")
def reference():
    """The independent official-layout reference module (tests/lcad/lcad_reference.py)."""
    return lcad_reference


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return make_tiny_tokenizer()


@pytest.fixture(scope="session")
def converted_tiny(tiny_tokenizer):
    """(official reference model, official state dict, LCADPipeline built by the converter)."""
    from lcad_bench.lcad.components import (
        apply_float64_alphas,
        make_scheduler,
        unet_config,
        vae_config,
    )
    from lcad_bench.lcad.convert import convert_official_state_dict, load_converted
    from lcad_bench.lcad.pipeline import LCADPipeline

    ref = lcad_reference.tiny_official(seed=1)
    text = make_tiny_text_encoder(tiny_tokenizer)
    lcad_reference.randomize_(text, seed=2)
    official = lcad_reference.official_state_dict(ref, {k: v for k, v in text.state_dict().items()})
    mods = make_tiny_modules()
    target_text = make_tiny_text_encoder(tiny_tokenizer, seed=5)
    mods["text_encoder"] = target_text
    result = convert_official_state_dict(
        official,
        unet_cfg=unet_config(**TINY_UNET),
        vae_cfg=vae_config(**TINY_VAE),
        text_encoder_keys=target_text.state_dict().keys(),
    )
    load_converted(result, mods)
    pipe = LCADPipeline(
        tokenizer=tiny_tokenizer, scheduler=apply_float64_alphas(make_scheduler()), **mods
    )
    return ref, official, result, pipe, text


@pytest.fixture()
def tiny_pipe(converted_tiny):
    """The converted tiny pipeline (shared; tests must not modify weights)."""
    return converted_tiny[3]


@pytest.fixture(scope="session")
def tiny_pipe64(converted_tiny):
    """A float64 copy of the converted tiny pipeline (for batch-independence checks without fp32 noise)."""
    import copy

    from lcad_bench.lcad.attention import install_processors

    pipe = copy.copy(converted_tiny[3])
    for name in ("unet", "vae", "luminance_encoder", "text_encoder"):
        setattr(pipe, name, copy.deepcopy(getattr(pipe, name)).double())
    pipe.controller = install_processors(pipe.unet)
    return pipe
