"""Attention processors for instance-aware sampling and the official logit-reuse quirk (docs/lcad.md#instance-aware-sampling).

One :class:`AttentionController` drives an :class:`LCADAttnProcessor` on each of the UNet's
attention modules (32 at full size). Modes:

* ``plain``: ordinary attention (SDPA by default, or the explicit ``softmax(q kᵀ·scale) v``);
* ``record``: compute the logits ``S = q kᵀ · scale`` (float32), store them (detached) under
  the processor's name, output ``softmax(S) v``;
* ``replay``: take the stored logits for this name (shape-checked), output ``softmax(S) v`` with
  ``v`` from the current call, and forget them.

Instance guidance records one UNet pass, edits the stored cross-attention logits in closed form
(:func:`instance_guidance_edit`; equal to one gradient step on the official BCE loss, no autograd)
and replays them in a second pass. ``legacy_alternating`` reproduces the official HEAD code, in
which every odd UNet call records and every even call replays the previous call's logits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

MODES = ("plain", "record", "replay")
REDUCTIONS = ("mean", "sum")
_LEVEL_RE = re.compile(r"^(down_blocks|up_blocks)\.(\d+)\.")


class SpanError(ValueError):
    """An invalid instance prompt, span list, or mask list (the message says which and how to fix)."""


@dataclass
class AttentionController:
    """Shared state of all :class:`LCADAttnProcessor` of one UNet.

    Attributes:
        mode: ``plain`` | ``record`` | ``replay``.
        use_sdpa: in ``plain`` mode, use ``scaled_dot_product_attention`` (else explicit maths,
            bit-identical to ``record``).
        legacy_alternating: when True, :meth:`begin_unet_call` alternates record/replay.
        latent_hw: ``(h, w)`` of the UNet input of the current call (for per-layer sizes).
        num_levels: number of UNet down blocks (for per-layer sizes).
    """

    mode: str = "plain"
    use_sdpa: bool = True
    legacy_alternating: bool = False
    latent_hw: tuple[int, int] | None = None
    num_levels: int = 4
    store: dict[str, torch.Tensor] = field(default_factory=dict)
    calls: int = 0

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown attention mode {mode!r}; expected one of {MODES}")
        self.mode = mode

    def reset(self) -> None:
        """Forget stored logits and the call counter (start of every sampling run)."""
        self.store.clear()
        self.calls = 0
        self.mode = "plain"

    def begin_unet_call(self, latent_hw: tuple[int, int]) -> None:
        """Note the latent size; in legacy mode pick record (odd calls) or replay (even calls)."""
        self.latent_hw = (int(latent_hw[0]), int(latent_hw[1]))
        if self.legacy_alternating:
            self.mode = "record" if self.calls % 2 == 0 else "replay"
        self.calls += 1

    def layer_hw(self, name: str) -> tuple[int, int]:
        """Spatial size of the attention layer ``name`` from its block (not from ``sqrt``)."""
        if self.latent_hw is None:
            raise RuntimeError("AttentionController.latent_hw is unset: call begin_unet_call first")
        m = _LEVEL_RE.match(name)
        if name.startswith("mid_block."):
            level = self.num_levels - 1
        elif m and m.group(1) == "down_blocks":
            level = int(m.group(2))
        elif m:
            level = self.num_levels - 1 - int(m.group(2))
        else:
            raise ValueError(f"cannot tell the resolution of attention layer {name!r}")
        h, w = self.latent_hw
        for _ in range(level):  # stride-2, padding-1 convolutions
            h, w = (h + 1) // 2, (w + 1) // 2
        return h, w


def _logits(query: torch.Tensor, key: torch.Tensor, scale: float) -> torch.Tensor:
    return torch.bmm(query.float(), key.float().transpose(1, 2)) * scale


class LCADAttnProcessor:
    """A diffusers attention processor with plain / record / replay modes (see module docstring)."""

    def __init__(self, controller: AttentionController, name: str) -> None:
        self.controller = controller
        self.name = name
        self.is_cross = ".attn2" in name
        self._sdpa: Any = None

    def __call__(
        self,
        attn: Any,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> torch.Tensor:
        ctl = self.controller
        if ctl.mode == "plain" and ctl.use_sdpa:
            if self._sdpa is None:
                from diffusers.models.attention_processor import AttnProcessor2_0

                self._sdpa = AttnProcessor2_0()
            return self._sdpa(attn, hidden_states, encoder_hidden_states, attention_mask, temb)

        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch_size, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch_size, channel, height * width).transpose(1, 2)
        batch_size, sequence_length, _ = (
            hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape
        )
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(
                attention_mask, sequence_length, batch_size
            )
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = attn.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
        value = attn.head_to_batch_dim(attn.to_v(encoder_hidden_states))

        if ctl.mode == "replay":
            if self.name not in ctl.store:
                raise RuntimeError(
                    f"replay of attention layer {self.name!r} but no logits were recorded for it "
                    "(run a record pass first)"
                )
            sim = ctl.store.pop(self.name)
            want = (value.shape[0], query.shape[1], value.shape[1])
            if tuple(sim.shape) != want:
                raise RuntimeError(
                    f"replayed logits of {self.name!r} have shape {tuple(sim.shape)}, this call needs {want} "
                    "(batch, resolution or prompt length changed between record and replay)"
                )
            sim = sim.to(value.device)
        else:
            query = attn.head_to_batch_dim(query)
            key = attn.head_to_batch_dim(attn.to_k(encoder_hidden_states))
            sim = _logits(query, key, attn.scale)
            if ctl.mode == "record":
                ctl.store[self.name] = sim.detach()
        if attention_mask is not None:
            sim = sim + attention_mask.float()
        probs = sim.softmax(dim=-1).to(value.dtype)
        hidden_states = torch.bmm(probs, value)
        hidden_states = attn.batch_to_head_dim(hidden_states)
        hidden_states = attn.to_out[0](hidden_states)
        hidden_states = attn.to_out[1](hidden_states)
        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(
                batch_size, channel, height, width
            )
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / attn.rescale_output_factor


def install_processors(
    unet: Any, controller: AttentionController | None = None
) -> AttentionController:
    """Install an :class:`LCADAttnProcessor` on every attention module of ``unet``; return the controller."""
    controller = controller or AttentionController()
    controller.num_levels = len(unet.config.block_out_channels)
    unet.set_attn_processor(
        {name: LCADAttnProcessor(controller, name) for name in unet.attn_processors}
    )
    return controller


def cross_attention_names(unet: Any) -> list[str]:
    """Processor names of the cross-attention (``attn2``) modules, the ones instance guidance edits."""
    return [name for name in unet.attn_processors if ".attn2" in name]


# --------------------------------------------------------------------------- spans and masks


def instance_spans_from_prompt(
    tokenizer: Any, prompt: str, *, max_length: int = 77
) -> list[tuple[int, int]]:
    """Token spans ``[start, end)`` (positions in the padded sequence, BOS at 0) of the comma-separated phrases.

    Reproduces the official rule (span k = the tokens of phrase k, commas, BOS and EOS excluded) and
    validates: no empty phrase, no trailing comma, and at most ``max_length - 2`` tokens.
    """
    text = prompt.strip()
    if not text:
        raise SpanError(
            "instance prompt is empty: give comma-separated phrases, e.g. 'the red cup, the blue cup'"
        )
    if text.endswith(","):
        raise SpanError(
            f"instance prompt {prompt!r} ends with a comma, which gives an empty last phrase "
            "(NaN in the official code): remove the trailing comma"
        )
    tokens = tokenizer.tokenize(text)
    limit = max_length - 2
    if len(tokens) > limit:
        raise SpanError(
            f"instance prompt has {len(tokens)} tokens but CLIP keeps at most {limit}: shorten it "
            f"(prompt starts {text[:60]!r})"
        )
    split = [j + 1 for j, tok in enumerate(tokens) if tok == ",</w>"] + [len(tokens) + 1]
    starts = [1] + [s + 1 for s in split[:-1]]
    spans = list(zip(starts, split))
    for k, (s, e) in enumerate(spans):
        if e <= s:
            raise SpanError(
                f"phrase {k} of instance prompt {prompt!r} is empty (two commas in a row?)"
            )
    return spans


def validate_spans(
    spans: Sequence[Sequence[int]], n_masks: int, *, max_length: int = 77
) -> list[tuple[int, int]]:
    """Check explicit spans: ``1 <= start < end <= max_length - 1`` and one span per mask."""
    out: list[tuple[int, int]] = []
    for k, span in enumerate(spans):
        if len(span) != 2:
            raise SpanError(f"span {k} must be (start, end), got {span!r}")
        s, e = int(span[0]), int(span[1])
        if e <= s:
            raise SpanError(f"span {k} = ({s}, {e}) is empty: end must be greater than start")
        if s < 1 or e > max_length - 1:
            raise SpanError(
                f"span {k} = ({s}, {e}) is outside the prompt tokens: positions run from 1 (after BOS) "
                f"to {max_length - 1} (exclusive)"
            )
        out.append((s, e))
    if len(out) != n_masks:
        raise SpanError(
            f"{len(out)} phrase span(s) but {n_masks} mask(s): mask k belongs to phrase k, so give one "
            "mask per comma-separated phrase"
        )
    return out


def resize_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[K,H,W] masks → float [K,h,w] with bilinear (cv2-like, no antialias) resizing, as the official loader."""
    if masks.ndim != 3:
        raise SpanError(f"masks must be [K,H,W], got shape {tuple(masks.shape)}")
    m = masks.float()[None]
    if tuple(m.shape[-2:]) != tuple(size):
        m = F.interpolate(m, size=size, mode="bilinear", align_corners=False)
    return m[0]


# --------------------------------------------------------------------------- the closed-form edit


def instance_guidance_edit(
    sim: torch.Tensor,
    *,
    batch: int,
    heads: int,
    hw: tuple[int, int],
    spans: Sequence[Sequence[tuple[int, int]]],
    masks: Sequence[torch.Tensor],
    step_size: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """One gradient step on the official instance loss, in closed form.

    ``sim`` are the cross-attention logits ``[2*batch*heads, h*w, T]`` of a CFG pass (rows ordered
    [uncond samples, cond samples] × heads). For cond sample b, instance k with span ``[s, e)`` and
    mask ``M`` (``masks[b][k]``, already at ``hw``, nearest-resized) the official loss is
    ``BCE_mean(sigmoid(S[rows_b, :, s:e]), M)``, summed over k; its gradient is
    ``(sigmoid(S) - M(p)) / (heads * n_k * h * w)`` on those entries (no denominator with
    ``reduction="sum"``) and zero elsewhere. Returns ``sim - step_size * grad`` (a new tensor).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    h, w = hw
    if sim.shape[0] != 2 * batch * heads or sim.shape[1] != h * w:
        raise ValueError(
            f"logits of shape {tuple(sim.shape)} do not match batch={batch}, heads={heads}, hw={hw} with CFG"
        )
    if len(spans) != batch or len(masks) != batch:
        raise ValueError(f"need spans and masks for each of the {batch} samples")
    grad = torch.zeros_like(sim)
    for b in range(batch):
        mb = masks[b]
        if len(spans[b]) != mb.shape[0]:
            raise SpanError(f"sample {b}: {len(spans[b])} spans but {mb.shape[0]} masks")
        r0 = (batch + b) * heads
        for k, (s, e) in enumerate(spans[b]):
            n_k = e - s
            target = mb[k].reshape(1, h * w, 1).to(sim.dtype)
            g = torch.sigmoid(sim[r0 : r0 + heads, :, s:e]) - target
            if reduction == "mean":
                g = g / (heads * n_k * h * w)
            grad[r0 : r0 + heads, :, s:e] += g
    return sim - step_size * grad
