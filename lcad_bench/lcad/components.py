"""Configurations and factories of the L-CAD components (docs/lcad.md#conversion).

Only configuration differs from stock diffusers/transformers classes: the UNet has
``in_channels = 4 + gray_channels`` (516), the scheduler is ldm's DDIM, and the luminance encoder
is the one new module (:mod:`lcad_bench.lcad.luminance`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

LATENT_CHANNELS = 4
SCALING_FACTOR = 0.18215
NUM_TRAIN_TIMESTEPS = 1000
BETA_START = 0.00085
BETA_END = 0.012


def unet_config(
    *,
    gray_channels: int = 512,
    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280),
    attention_levels: tuple[bool, ...] | None = None,
    layers_per_block: int = 2,
    cross_attention_dim: int = 768,
    attention_head_dim: int = 8,
    norm_num_groups: int = 32,
    sample_size: int = 32,
) -> dict[str, Any]:
    """``UNet2DConditionModel`` kwargs: SD 1.5 with ``in_channels = 4 + gray_channels``.

    ``attention_levels`` (default: all but the last level) picks the cross-attention levels;
    ``attention_head_dim`` is the number of heads, as in SD 1.x configs.
    """
    n = len(block_out_channels)
    levels = (
        attention_levels if attention_levels is not None else tuple(i < n - 1 for i in range(n))
    )
    down = tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in levels)
    up = tuple("CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(levels))
    return {
        "sample_size": sample_size,
        "in_channels": LATENT_CHANNELS + gray_channels,
        "out_channels": LATENT_CHANNELS,
        "down_block_types": down,
        "up_block_types": up,
        "block_out_channels": tuple(block_out_channels),
        "layers_per_block": layers_per_block,
        "cross_attention_dim": cross_attention_dim,
        "attention_head_dim": attention_head_dim,
        "norm_num_groups": norm_num_groups,
        "norm_eps": 1e-5,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "downsample_padding": 1,
        "act_fn": "silu",
        "mid_block_type": "UNetMidBlock2DCrossAttn",
    }


def vae_config(
    *,
    block_out_channels: tuple[int, ...] = (128, 256, 512, 512),
    layers_per_block: int = 2,
    norm_num_groups: int = 32,
    sample_size: int = 256,
) -> dict[str, Any]:
    """``AutoencoderKL`` kwargs of the SD kl-f8 VAE (``scaling_factor`` 0.18215)."""
    n = len(block_out_channels)
    return {
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ("DownEncoderBlock2D",) * n,
        "up_block_types": ("UpDecoderBlock2D",) * n,
        "block_out_channels": tuple(block_out_channels),
        "layers_per_block": layers_per_block,
        "latent_channels": LATENT_CHANNELS,
        "norm_num_groups": norm_num_groups,
        "act_fn": "silu",
        "sample_size": sample_size,
        "scaling_factor": SCALING_FACTOR,
    }


def luminance_config(
    *,
    block_out_channels: tuple[int, ...] = (128, 256, 512, 512),
    layers_per_block: int = 2,
    norm_num_groups: int = 32,
) -> dict[str, Any]:
    """``LuminanceEncoder`` kwargs (the official ``ddconfig`` of the VAE)."""
    return {
        "in_channels": 3,
        "block_out_channels": tuple(block_out_channels),
        "layers_per_block": layers_per_block,
        "norm_num_groups": norm_num_groups,
    }


def clip_vit_l14_text_config() -> dict[str, Any]:
    """``CLIPTextConfig`` kwargs of ``openai/clip-vit-large-patch14`` (text tower)."""
    return {
        "vocab_size": 49408,
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "max_position_embeddings": 77,
        "hidden_act": "quick_gelu",
        "projection_dim": 768,
        "bos_token_id": 49406,
        "eos_token_id": 49407,
        "pad_token_id": 1,
    }


def make_scheduler(**overrides: Any):
    """The ldm DDIM sampler as a ``DDIMScheduler``: scaled_linear 0.00085→0.012, leading, offset 1.

    This gives the official timesteps (981, 961, ..., 1 for 50 steps) and ``alpha_prev`` of the last
    step = ``alphas_cumprod[0]`` (``set_alpha_to_one=False``).
    """
    from diffusers import DDIMScheduler

    cfg: dict[str, Any] = {
        "num_train_timesteps": NUM_TRAIN_TIMESTEPS,
        "beta_start": BETA_START,
        "beta_end": BETA_END,
        "beta_schedule": "scaled_linear",
        "clip_sample": False,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "timestep_spacing": "leading",
        "prediction_type": "epsilon",
    }
    cfg.update(overrides)
    return DDIMScheduler(**cfg)


def ldm_betas() -> np.ndarray:
    """ldm's "linear" schedule in float64: ``linspace(sqrt(b0), sqrt(b1), 1000) ** 2``."""
    return np.linspace(BETA_START**0.5, BETA_END**0.5, NUM_TRAIN_TIMESTEPS, dtype=np.float64) ** 2


def apply_float64_alphas(scheduler: Any) -> Any:
    """Overwrite ``alphas_cumprod``/``final_alpha_cumprod`` with ldm's float64-derived values.

    diffusers computes the products in float32 (max abs difference about 5e-7); use this for
    bit-level parity with the official sampler.
    """
    ac = np.cumprod(1.0 - ldm_betas())
    scheduler.alphas_cumprod = torch.from_numpy(ac).to(torch.float32)
    scheduler.final_alpha_cumprod = scheduler.alphas_cumprod[0]
    return scheduler


def check_gray_channels(unet: Any, luminance_encoder: Any) -> None:
    """Raise ``ValueError`` unless ``unet.in_channels == 4 + luminance_encoder.out_channels_last``."""
    want = LATENT_CHANNELS + luminance_encoder.out_channels_last
    if int(unet.config.in_channels) != want:
        raise ValueError(
            f"UNet in_channels={unet.config.in_channels} but the luminance encoder gives "
            f"{luminance_encoder.out_channels_last} gray channels: expected in_channels={want}"
        )
