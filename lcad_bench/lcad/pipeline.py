"""``LCADPipeline``: the reference L-CAD sampler (docs/lcad.md#presets, docs/lcad.md#instance-aware-sampling).

Components are stock diffusers/transformers classes plus :class:`LuminanceEncoder`; the folder
layout of :meth:`LCADPipeline.save_pretrained` is diffusers' (one sub-folder per component,
safetensors weights, ``model_index.json``), loaded back with :meth:`LCADPipeline.from_pretrained`
from a local folder only (nothing is downloaded).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lcad_bench.errors import InputFormatError, MissingInputError, UsageError
from lcad_bench.lcad import preprocess as pp
from lcad_bench.lcad.attention import (
    AttentionController,
    SpanError,
    cross_attention_names,
    install_processors,
    instance_guidance_edit,
    instance_spans_from_prompt,
    resize_masks,
    validate_spans,
)
from lcad_bench.lcad.components import LATENT_CHANNELS, check_gray_channels, make_scheduler
from lcad_bench.lcad.decoder import decode_with_luminance
from lcad_bench.lcad.presets import ATTENTION_REUSE, POSTPROCESS, LCADPreset, get_preset

COMPONENTS: dict[str, tuple[str, str]] = {
    "unet": ("diffusers", "UNet2DConditionModel"),
    "vae": ("diffusers", "AutoencoderKL"),
    "luminance_encoder": ("lcad_bench.lcad.luminance", "LuminanceEncoder"),
    "text_encoder": ("transformers", "CLIPTextModel"),
    "tokenizer": ("transformers", "CLIPTokenizer"),
    "scheduler": ("diffusers", "DDIMScheduler"),
}


@dataclass
class LCADOutput:
    """Result of :meth:`LCADPipeline.__call__`.

    Attributes:
        images: per ``output_type``: list of PIL images (``pil``), list of float32 HxWx3 arrays in
            [0,1] (``np``), list of uint8 HxWx3 arrays with the official truncation (``uint8``), or a
            float tensor [B,3,H,W] in [0,1] (``pt``).
        latents: the final denoised latents ``[B,4,h,w]`` (diffusion scale).
        settings: the resolved preset fields used for this call.
    """

    images: Any
    latents: torch.Tensor
    settings: dict[str, Any]


def _import(library: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(library), name)


class LCADPipeline:
    """L-CAD: luminance encoder + 516-channel SD UNet + luminance-guided VAE decode + CLIP text."""

    def __init__(
        self,
        unet: Any,
        vae: Any,
        luminance_encoder: Any,
        text_encoder: Any,
        tokenizer: Any,
        scheduler: Any | None = None,
    ) -> None:
        check_gray_channels(unet, luminance_encoder)
        self.unet = unet
        self.vae = vae
        self.luminance_encoder = luminance_encoder
        self.text_encoder = text_encoder
        self.tokenizer = tokenizer
        self.scheduler = scheduler if scheduler is not None else make_scheduler()
        self.controller: AttentionController = install_processors(unet)
        for module in (unet, vae, luminance_encoder, text_encoder):
            module.eval()

    # ------------------------------------------------------------------ device, save, load
    @property
    def vae_scale_factor(self) -> int:
        """Image pixels per latent pixel (8 for the SD VAE)."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this (64 at full size: VAE x8, UNet x8)."""
        return self.vae_scale_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.unet.parameters()).dtype

    def to(
        self, device: str | torch.device | None = None, dtype: torch.dtype | None = None
    ) -> LCADPipeline:
        """Move (and optionally cast) every module; returns ``self``."""
        for module in (self.unet, self.vae, self.luminance_encoder, self.text_encoder):
            module.to(device=device, dtype=dtype)
        return self

    def save_pretrained(self, path: str | Path) -> Path:
        """Write the diffusers folder layout with safetensors weights; returns the folder."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.unet.save_pretrained(out / "unet", safe_serialization=True)
        self.vae.save_pretrained(out / "vae", safe_serialization=True)
        self.luminance_encoder.save_pretrained(out / "luminance_encoder", safe_serialization=True)
        self.text_encoder.save_pretrained(out / "text_encoder", safe_serialization=True)
        self.tokenizer.save_pretrained(out / "tokenizer")
        self.scheduler.save_pretrained(out / "scheduler")
        import diffusers

        index: dict[str, Any] = {
            "_class_name": "LCADPipeline",
            "_diffusers_version": diffusers.__version__,
        }
        index.update({name: list(lib_cls) for name, lib_cls in COMPONENTS.items()})
        (out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
        return out

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        torch_dtype: torch.dtype | None = None,
        device: str | torch.device | None = None,
    ) -> LCADPipeline:
        """Load a folder written by :meth:`save_pretrained` or ``lcad-bench convert-checkpoint``."""
        root = Path(path)
        index_path = root / "model_index.json"
        if not index_path.is_file():
            raise MissingInputError(
                f"{index_path} not found: {root} is not an L-CAD pipeline folder. Create one with "
                "`lcad-bench convert-checkpoint OFFICIAL.ckpt --text-encoder CLIP_DIR --out DIR` (see docs/lcad.md)"
            )
        missing = [name for name in COMPONENTS if not (root / name).is_dir()]
        if missing:
            raise MissingInputError(
                f"{root} lacks component folder(s) {', '.join(missing)}; re-run the conversion"
            )
        parts: dict[str, Any] = {}
        for name, (library, class_name) in COMPONENTS.items():
            klass = _import(library, class_name)
            sub = root / name
            if name in ("tokenizer",):
                parts[name] = klass.from_pretrained(str(sub), local_files_only=True)
            elif name == "scheduler":
                parts[name] = klass.from_pretrained(str(sub))
            elif name == "text_encoder":
                kwargs: dict[str, Any] = {"local_files_only": True}
                if torch_dtype is not None:
                    kwargs["dtype"] = torch_dtype
                parts[name] = klass.from_pretrained(str(sub), **kwargs)
            else:
                kwargs = {"torch_dtype": torch_dtype} if torch_dtype is not None else {}
                parts[name] = klass.from_pretrained(str(sub), **kwargs)
        tok = parts["tokenizer"]
        if len(tok) < 3 or len(tok("a c").input_ids) < 3:
            raise InputFormatError(
                f"the tokenizer in {root / 'tokenizer'} is broken (vocabulary of {len(tok)} tokens)"
            )
        pipe = cls(**parts)
        if device is not None:
            pipe.to(device)
        return pipe

    # ------------------------------------------------------------------ building blocks
    @torch.no_grad()
    def encode_prompt(self, prompts: Sequence[str]) -> torch.Tensor:
        """CLIP ``last_hidden_state`` ``[B,77,D]`` (padding to max length, truncation), official FrozenCLIPEmbedder."""
        max_length = int(getattr(self.tokenizer, "model_max_length", 77) or 77)
        if max_length > 10_000:
            max_length = 77
        ids = self.tokenizer(
            list(prompts),
            padding="max_length",
            max_length=max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids.to(self.text_encoder.device)
        return self.text_encoder(ids).last_hidden_state

    def prepare_hint(
        self,
        *,
        image: Any = None,
        luminance: Any = None,
        hint: torch.Tensor | None = None,
        resolution: int = 256,
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """The hint ``[B,3,R,R]`` and, per sample, the original-resolution L* ``[1,1,H,W]`` (None for hints).

        Exactly one of ``image`` (PIL image or list), ``luminance`` (L* array in [0,100] or list)
        or ``hint`` (tensor ``[B,3,H,W]`` already normalised) must be given.
        """
        given = [x is not None for x in (image, luminance, hint)]
        if sum(given) != 1:
            raise UsageError("pass exactly one of image=, luminance= or hint=")
        mult = self.size_multiple
        if resolution % mult:
            raise UsageError(
                f"resolution must be a multiple of {mult} (UNet and VAE downsampling), got {resolution}"
            )
        if hint is not None:
            if hint.ndim != 4 or hint.shape[1] != 3:
                raise UsageError(f"hint must be [B,3,H,W], got shape {tuple(hint.shape)}")
            if hint.shape[-1] % mult or hint.shape[-2] % mult:
                raise UsageError(
                    f"hint height and width must be multiples of {mult}, got {tuple(hint.shape[-2:])}"
                )
            return hint.float(), [None] * hint.shape[0]
        hints: list[torch.Tensor] = []
        lums: list[torch.Tensor | None] = []
        if image is not None:
            images = image if isinstance(image, (list, tuple)) else [image]
            for img in images:
                hints.append(pp.image_to_hint(img, resolution))
                lums.append(pp.srgb_to_luminance(pp.pil_to_tensor(img, None)))
        else:
            maps = luminance if isinstance(luminance, (list, tuple)) else [luminance]
            for lum in maps:
                hints.append(pp.luminance_array_to_hint(lum, resolution))
                lums.append(torch.as_tensor(np.asarray(lum, dtype=np.float32))[None, None])
        return torch.cat(hints, dim=0), lums

    @torch.no_grad()
    def luminance_features(self, hint: torch.Tensor) -> list[torch.Tensor]:
        """f0..f9 of the luminance encoder (computed once per image)."""
        enc = self.luminance_encoder
        return enc(hint.to(device=enc.device, dtype=enc.dtype))

    def unet_eps(
        self,
        latents_in: torch.Tensor,
        t: torch.Tensor | int,
        context: torch.Tensor,
        gray: torch.Tensor,
    ) -> torch.Tensor:
        """One UNet call on ``cat([latents, gray], dim=1)`` (latent channels first, then gray)."""
        self.controller.begin_unet_call(tuple(latents_in.shape[-2:]))
        x = torch.cat([latents_in, gray.to(latents_in.dtype)], dim=1)
        return self.unet(x, t, encoder_hidden_states=context).sample

    def _attn2_layers(self) -> list[tuple[str, int]]:
        heads = {}
        for name, module in self.unet.named_modules():
            if hasattr(module, "heads") and hasattr(module, "processor"):
                heads[f"{name}.processor"] = int(module.heads)
        return [(name, heads[name]) for name in cross_attention_names(self.unet)]

    # ------------------------------------------------------------------ sampling
    def resolve_settings(self, preset: str | LCADPreset, **overrides: Any) -> LCADPreset:
        """The preset with the non-None ``overrides`` applied, validated."""
        base = get_preset(preset) if isinstance(preset, str) else preset
        settings = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        if settings.attention_reuse not in ATTENTION_REUSE:
            raise UsageError(
                f"attention_reuse must be one of {ATTENTION_REUSE}, got {settings.attention_reuse!r}"
            )
        if settings.postprocess not in POSTPROCESS:
            raise UsageError(
                f"postprocess must be one of {POSTPROCESS}, got {settings.postprocess!r}"
            )
        if settings.guidance_reduction not in ("mean", "sum"):
            raise UsageError(
                f"guidance_reduction must be 'mean' or 'sum', got {settings.guidance_reduction!r}"
            )
        if settings.instance_guidance and settings.attention_reuse != "none":
            raise UsageError(
                "instance guidance and attention_reuse='legacy_alternating' cannot be combined"
            )
        if settings.num_inference_steps < 1:
            raise UsageError(
                f"num_inference_steps must be >= 1, got {settings.num_inference_steps}"
            )
        return settings

    def _instance_inputs(
        self,
        prompts: list[str],
        instance_masks: Sequence[Any] | None,
        instance_spans: Sequence[Sequence[tuple[int, int]]] | None,
        size: tuple[int, int],
    ) -> tuple[list[list[tuple[int, int]]], list[torch.Tensor]]:
        if instance_masks is None:
            raise UsageError(
                "instance guidance needs instance_masks (one [K,H,W] mask stack per sample)"
            )
        if len(instance_masks) != len(prompts):
            raise UsageError(
                f"{len(instance_masks)} mask stacks for {len(prompts)} prompts: give one per sample"
            )
        if instance_spans is not None and len(instance_spans) != len(prompts):
            raise UsageError(
                f"{len(instance_spans)} span lists for {len(prompts)} prompts: give one per sample"
            )
        spans_all: list[list[tuple[int, int]]] = []
        masks_all: list[torch.Tensor] = []
        for b, prompt in enumerate(prompts):
            masks = torch.as_tensor(
                np.asarray(instance_masks[b])
                if not isinstance(instance_masks[b], torch.Tensor)
                else instance_masks[b]
            )
            if masks.ndim == 2:
                masks = masks[None]
            if masks.ndim != 3 or masks.shape[0] == 0:
                raise UsageError(
                    f"sample {b}: masks must be a non-empty [K,H,W] stack, got shape {tuple(masks.shape)}"
                )
            try:
                spans = (
                    list(instance_spans[b])
                    if instance_spans is not None
                    else instance_spans_from_prompt(self.tokenizer, prompt)
                )
                spans_all.append(validate_spans(spans, masks.shape[0]))
            except SpanError as exc:
                raise UsageError(f"sample {b}: {exc}") from None
            masks_all.append(resize_masks(masks, size))
        return spans_all, masks_all

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | Sequence[str],
        image: Any = None,
        *,
        luminance: Any = None,
        hint: torch.Tensor | None = None,
        preset: str | LCADPreset = "official_eval",
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        attention_reuse: str | None = None,
        instance_guidance: bool | None = None,
        guidance_step_size: float | None = None,
        guidance_reduction: str | None = None,
        resolution: int | None = None,
        postprocess: str | None = None,
        instance_masks: Sequence[Any] | None = None,
        instance_spans: Sequence[Sequence[tuple[int, int]]] | None = None,
        negative_prompt: str = "",
        generator: torch.Generator | Sequence[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        output_type: str = "pil",
        callback: Any = None,
    ) -> LCADOutput:
        """Colourise gray inputs from text.

        Args:
            prompt: one prompt or one per sample. For instance guidance, comma-separated phrases
                (phrase k ↔ mask k) unless ``instance_spans`` gives the token spans explicitly.
            image / luminance / hint: the gray input (see :meth:`prepare_hint`).
            preset: ``official_eval`` (default), ``official_eval_legacy`` or ``official_instance``,
                or an :class:`LCADPreset`; the keyword overrides after it replace its fields.
            instance_masks: per sample a ``[K,H,W]`` mask stack (bool/float, any size; bilinear
                resized to the working resolution, then nearest per attention layer).
            negative_prompt: the unconditional prompt (official: ``""``); the unconditional
                branch always keeps the gray hint, as in the official code.
            generator: one generator or one per sample, for ``x_T`` (ignored when ``latents`` is given).
            latents: ``x_T`` ``[B,4,R/8,R/8]``.
            output_type: ``pil`` | ``np`` | ``uint8`` | ``pt``.
            callback: optional ``callback(step_index, t, latents)``.
        """
        settings = self.resolve_settings(
            preset,
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale,
            attention_reuse=attention_reuse,
            instance_guidance=instance_guidance,
            guidance_step_size=guidance_step_size,
            guidance_reduction=guidance_reduction,
            resolution=resolution,
            postprocess=postprocess,
        )
        if output_type not in ("pil", "np", "uint8", "pt"):
            raise UsageError(f"output_type must be pil, np, uint8 or pt, got {output_type!r}")
        hint_t, orig_lums = self.prepare_hint(
            image=image, luminance=luminance, hint=hint, resolution=settings.resolution
        )
        batch = hint_t.shape[0]
        prompts = [prompt] * batch if isinstance(prompt, str) else list(prompt)
        if len(prompts) != batch:
            raise UsageError(
                f"{len(prompts)} prompts for {batch} images: give one prompt per image (or a single string)"
            )
        device, dtype = self.device, self.dtype
        size = tuple(hint_t.shape[-2:])
        spans_all: list[list[tuple[int, int]]] = []
        masks_all: list[torch.Tensor] = []
        if settings.instance_guidance:
            spans_all, masks_all = self._instance_inputs(
                prompts, instance_masks, instance_spans, size
            )
            masks_all = [m.to(device) for m in masks_all]

        feats = self.luminance_features(hint_t.to(device))
        gray = feats[-1].to(dtype)
        gray_in = torch.cat([gray, gray], dim=0)
        cond = self.encode_prompt(prompts)
        uncond = self.encode_prompt([negative_prompt] * batch)
        context = torch.cat([uncond, cond], dim=0).to(dtype)

        lat_shape = (
            batch,
            LATENT_CHANNELS,
            size[0] // self.vae_scale_factor,
            size[1] // self.vae_scale_factor,
        )
        if latents is None:
            from diffusers.utils.torch_utils import randn_tensor

            gen = list(generator) if isinstance(generator, (list, tuple)) else generator
            latents = randn_tensor(
                lat_shape, generator=gen, device=torch.device("cpu"), dtype=torch.float32
            )
        elif tuple(latents.shape) != lat_shape:
            raise UsageError(f"latents must have shape {lat_shape}, got {tuple(latents.shape)}")
        latents = latents.to(device=device, dtype=dtype)

        ctl = self.controller
        ctl.reset()
        ctl.legacy_alternating = settings.attention_reuse == "legacy_alternating"
        attn2 = self._attn2_layers() if settings.instance_guidance else []
        mask_cache: dict[tuple[int, int], list[torch.Tensor]] = {}

        scheduler = self.scheduler
        scheduler.set_timesteps(settings.num_inference_steps, device=device)
        try:
            for i, t in enumerate(scheduler.timesteps):
                x_in = torch.cat([latents, latents], dim=0)
                if settings.instance_guidance:
                    ctl.set_mode("record")
                    self.unet_eps(x_in, t, context, gray_in)
                    for name, heads in attn2:
                        hw = ctl.layer_hw(name)
                        if hw not in mask_cache:
                            mask_cache[hw] = [
                                F.interpolate(m[None], size=hw, mode="nearest")[0]
                                for m in masks_all
                            ]
                        ctl.store[name] = instance_guidance_edit(
                            ctl.store[name],
                            batch=batch,
                            heads=heads,
                            hw=hw,
                            spans=spans_all,
                            masks=mask_cache[hw],
                            step_size=settings.guidance_step_size,
                            reduction=settings.guidance_reduction,
                        )
                    ctl.set_mode("replay")
                    eps = self.unet_eps(x_in, t, context, gray_in)
                    ctl.store.clear()
                    ctl.set_mode("plain")
                else:
                    eps = self.unet_eps(x_in, t, context, gray_in)
                eps_u, eps_c = eps.chunk(2)
                eps = eps_u + settings.guidance_scale * (eps_c - eps_u)
                latents = scheduler.step(eps, t, latents, eta=0.0).prev_sample
                if callback is not None:
                    callback(i, t, latents)
        finally:
            ctl.reset()
            ctl.legacy_alternating = False

        decoded = decode_with_luminance(
            self.vae, latents.to(self.vae.dtype), [f.to(self.vae.dtype) for f in feats]
        )
        rgb = pp.decoded_to_unit(decoded.float()).cpu()
        images = self._postprocess(rgb, orig_lums, settings.postprocess, output_type)
        return LCADOutput(images=images, latents=latents, settings=settings.to_dict())

    @staticmethod
    def _postprocess(
        rgb: torch.Tensor, orig_lums: list[torch.Tensor | None], mode: str, output_type: str
    ) -> Any:
        outs: list[torch.Tensor] = []
        for b in range(rgb.shape[0]):
            x = rgb[b : b + 1]
            lum = orig_lums[b]
            if mode != "none" and lum is None:
                raise UsageError(
                    f"postprocess={mode!r} needs the original image or L*, not a precomputed hint"
                )
            if mode == "resize_back":
                x = pp.resize_back(x, tuple(lum.shape[-2:]))
            elif mode == "l_replace":
                x = pp.replace_luminance(x, lum)
            outs.append(x)
        if output_type == "pt":
            if len({tuple(o.shape) for o in outs}) != 1:
                raise UsageError(
                    "output_type='pt' needs equal output sizes; use 'np' or 'pil' with resize_back"
                )
            return torch.cat(outs, dim=0)
        if output_type == "np":
            return [o[0].permute(1, 2, 0).numpy().astype(np.float32) for o in outs]
        arrays = [pp.unit_to_uint8(o)[0] for o in outs]
        if output_type == "uint8":
            return arrays
        from PIL import Image

        return [Image.fromarray(a) for a in arrays]
