"""Luminance-guided decoding over a stock ``AutoencoderKL`` (official ``EhDecoder``; docs/lcad.md#conversion).

The official decoder adds the luminance-encoder taps in place and pops them from the caller's
list. Here the features are indexed, never mutated:

* after ``mid_block.resnets[0]``: ``+ f[-1]``; after ``mid_block.resnets[1]``: ``+ f[-2]``;
* ``up_blocks[k].resnets[j]`` with ``j < R`` adds ``f[R*(n-1-k) + (R-1-j)]`` (n levels,
  R = layers_per_block); the extra resnet ``j == R`` adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _tap_index(k: int, j: int, n_levels: int, r: int) -> int:
    return r * (n_levels - 1 - k) + (r - 1 - j)


def decode_with_luminance(
    vae: torch.nn.Module,
    latents: torch.Tensor,
    feats: Sequence[torch.Tensor],
    *,
    latents_are_scaled: bool = True,
) -> torch.Tensor:
    """Decode latents to RGB in (about) [-1, 1] with the luminance taps ``feats`` (f0..f9).

    Args:
        vae: a diffusers ``AutoencoderKL`` (unchanged).
        latents: ``[B,4,h,w]``; divided by ``vae.config.scaling_factor`` first when
            ``latents_are_scaled`` (diffusion latents), used as is otherwise (raw VAE latents).
        feats: the luminance encoder output for the *un-duplicated* hint ``[B,3,H,W]``.
    """
    decoder = vae.decoder
    n_levels = len(decoder.up_blocks)
    r = len(decoder.up_blocks[0].resnets) - 1
    expected = n_levels * r + 2
    if len(feats) != expected:
        raise ValueError(
            f"decode_with_luminance needs {expected} luminance features, got {len(feats)}"
        )
    if feats[-1].shape[0] != latents.shape[0]:
        raise ValueError(
            f"batch mismatch: latents have {latents.shape[0]} samples, luminance features {feats[-1].shape[0]}"
        )
    z = latents / vae.config.scaling_factor if latents_are_scaled else latents
    if vae.post_quant_conv is not None:
        z = vae.post_quant_conv(z)
    h = decoder.conv_in(z)
    mid = decoder.mid_block
    h = mid.resnets[0](h, None) + feats[-1]
    h = mid.attentions[0](h, temb=None)
    h = mid.resnets[1](h, None) + feats[-2]
    upscale_dtype = next(iter(decoder.up_blocks.parameters())).dtype
    h = h.to(upscale_dtype)
    for k, block in enumerate(decoder.up_blocks):
        for j, resnet in enumerate(block.resnets):
            h = resnet(h, None)
            if j < r:
                h = h + feats[_tap_index(k, j, n_levels, r)].to(h.dtype)
        if block.upsamplers is not None:
            for up in block.upsamplers:
                h = up(h)
    h = decoder.conv_norm_out(h)
    h = decoder.conv_act(h)
    return decoder.conv_out(h)
