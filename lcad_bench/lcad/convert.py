"""Official L-CAD checkpoint → lcad-bench pipeline folder (docs/lcad.md#conversion).

The key mapping is written here as tables (no diffusers-internal converter is used); every official
key is either consumed or on the documented ignore list (:data:`IGNORED_EXACT` and
:data:`IGNORED_SUFFIXES`), anything else is an error naming the keys, and each component is then
loaded with ``strict=True`` after a shape check that also names the offending keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lcad_bench.errors import InputFormatError, MissingInputError, UsageError
from lcad_bench.lcad.components import ldm_betas, luminance_config, unet_config, vae_config

UNET_PREFIX = "model.diffusion_model."
FIRST_STAGE_PREFIX = "first_stage_model."
CLIP_PREFIX = "cond_stage_model.transformer."

#: DDPM buffers of LatentDiffusion (``betas`` is checked against the schedule, then all are dropped)
SCHEDULE_BUFFERS = (
    "betas",
    "alphas_cumprod",
    "alphas_cumprod_prev",
    "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod",
    "sqrt_recip_alphas_cumprod",
    "sqrt_recipm1_alphas_cumprod",
    "posterior_variance",
    "posterior_log_variance_clipped",
    "posterior_mean_coef1",
    "posterior_mean_coef2",
    "logvar",
)
#: official keys dropped on purpose: the schedule buffers and g_encoder's unused norm_out/conv_out
IGNORED_EXACT = frozenset(
    [
        *SCHEDULE_BUFFERS,
        "first_stage_model.g_encoder.norm_out.weight",
        "first_stage_model.g_encoder.norm_out.bias",
        "first_stage_model.g_encoder.conv_out.weight",
        "first_stage_model.g_encoder.conv_out.bias",
    ]
)
#: CLIP's ``position_ids`` (a persistent buffer in transformers 4.19) unless the target model keeps it
IGNORED_SUFFIXES = ("embeddings.position_ids",)

COMPONENT_NAMES = ("unet", "vae", "luminance_encoder", "text_encoder")

_RESNET_UNET = {
    "in_layers.0": "norm1",
    "in_layers.2": "conv1",
    "emb_layers.1": "time_emb_proj",
    "out_layers.0": "norm2",
    "out_layers.3": "conv2",
    "skip_connection": "conv_shortcut",
}
_RESNET_VAE = {
    "norm1": "norm1",
    "conv1": "conv1",
    "norm2": "norm2",
    "conv2": "conv2",
    "nin_shortcut": "conv_shortcut",
}
_VAE_ATTN = {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}


class ConversionError(InputFormatError):
    """The checkpoint does not match the expected L-CAD layout (the message lists the keys)."""


def _fmt_keys(keys: Iterable[str], limit: int = 12) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def _rename_inner(rest: str, table: Mapping[str, str], where: str) -> str:
    for old, new in table.items():
        if rest.startswith(old + "."):
            return new + rest[len(old) :]
    raise KeyError(f"unknown resnet parameter {rest!r} in {where}")


# --------------------------------------------------------------------------- UNet


def unet_block_table(config: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(official prefix, diffusers prefix, kind) rows for a UNet config; kind ∈ plain/resnet/attn."""
    down_types = list(config["down_block_types"])
    n = len(down_types)
    r = int(config["layers_per_block"])
    attn = ["CrossAttn" in t for t in down_types]
    rows: list[tuple[str, str, str]] = [
        ("time_embed.0.", "time_embedding.linear_1.", "plain"),
        ("time_embed.2.", "time_embedding.linear_2.", "plain"),
        ("input_blocks.0.0.", "conv_in.", "plain"),
        ("out.0.", "conv_norm_out.", "plain"),
        ("out.2.", "conv_out.", "plain"),
        ("middle_block.0.", "mid_block.resnets.0.", "resnet"),
        ("middle_block.1.", "mid_block.attentions.0.", "attn"),
        ("middle_block.2.", "mid_block.resnets.1.", "resnet"),
    ]
    i = 1
    for b in range(n):
        for layer in range(r):
            rows.append((f"input_blocks.{i}.0.", f"down_blocks.{b}.resnets.{layer}.", "resnet"))
            if attn[b]:
                rows.append(
                    (f"input_blocks.{i}.1.", f"down_blocks.{b}.attentions.{layer}.", "attn")
                )
            i += 1
        if b < n - 1:
            rows.append(
                (f"input_blocks.{i}.0.op.", f"down_blocks.{b}.downsamplers.0.conv.", "plain")
            )
            i += 1
    i = 0
    for b in range(n):
        has_attn = attn[n - 1 - b]
        for layer in range(r + 1):
            rows.append((f"output_blocks.{i}.0.", f"up_blocks.{b}.resnets.{layer}.", "resnet"))
            if has_attn:
                rows.append((f"output_blocks.{i}.1.", f"up_blocks.{b}.attentions.{layer}.", "attn"))
            if layer == r and b < n - 1:
                idx = 2 if has_attn else 1
                rows.append(
                    (f"output_blocks.{i}.{idx}.conv.", f"up_blocks.{b}.upsamplers.0.conv.", "plain")
                )
            i += 1
    return rows


def map_unet_key(key: str, table: list[tuple[str, str, str]]) -> str | None:
    """Diffusers name of an official UNet key (without ``model.diffusion_model.``), or None."""
    for old, new, kind in table:
        if key.startswith(old):
            rest = key[len(old) :]
            if kind == "resnet":
                return new + _rename_inner(rest, _RESNET_UNET, old)
            return new + rest
    return None


# --------------------------------------------------------------------------- VAE and luminance encoder


def map_vae_part_key(
    key: str, part: str, n_levels: int, layers_per_block: int
) -> tuple[str, bool] | None:
    """Map a key inside ``encoder.`` / ``decoder.`` / ``g_encoder.`` (prefix removed).

    Returns ``(diffusers name without the part prefix, squeeze_1x1)`` or None when unknown. For
    ``g_encoder`` the zero convs map to ``down_zero_convs``/``mid_zero_convs``.
    """
    m = re.fullmatch(r"(conv_in|conv_out)\.(weight|bias)", key)
    if m:
        return key, False
    m = re.fullmatch(r"norm_out\.(weight|bias)", key)
    if m:
        return f"conv_norm_out.{m.group(1)}", False
    m = re.fullmatch(r"mid\.block_([12])\.(.+)", key)
    if m:
        return f"mid_block.resnets.{int(m.group(1)) - 1}." + _rename_inner(
            m.group(2), _RESNET_VAE, key
        ), False
    m = re.fullmatch(r"mid\.attn_1\.(norm|q|k|v|proj_out)\.(weight|bias)", key)
    if m:
        return f"mid_block.attentions.0.{_VAE_ATTN[m.group(1)]}.{m.group(2)}", m.group(1) != "norm"
    if part in ("encoder", "g_encoder"):
        m = re.fullmatch(r"down\.(\d+)\.block\.(\d+)\.(.+)", key)
        if m:
            return f"down_blocks.{m.group(1)}.resnets.{m.group(2)}." + _rename_inner(
                m.group(3), _RESNET_VAE, key
            ), False
        m = re.fullmatch(r"down\.(\d+)\.downsample\.conv\.(weight|bias)", key)
        if m:
            return f"down_blocks.{m.group(1)}.downsamplers.0.conv.{m.group(2)}", False
    if part == "g_encoder":
        m = re.fullmatch(r"down\.(\d+)\.zero_conv\.(\d+)\.(weight|bias)", key)
        if m:
            return (
                f"down_zero_convs.{layers_per_block * int(m.group(1)) + int(m.group(2))}.{m.group(3)}",
                False,
            )
        m = re.fullmatch(r"zero_conv_mid([12])\.(weight|bias)", key)
        if m:
            return f"mid_zero_convs.{int(m.group(1)) - 1}.{m.group(2)}", False
    if part == "decoder":
        m = re.fullmatch(r"up\.(\d+)\.block\.(\d+)\.(.+)", key)
        if m:
            k = n_levels - 1 - int(m.group(1))
            return f"up_blocks.{k}.resnets.{m.group(2)}." + _rename_inner(
                m.group(3), _RESNET_VAE, key
            ), False
        m = re.fullmatch(r"up\.(\d+)\.upsample\.conv\.(weight|bias)", key)
        if m:
            return (
                f"up_blocks.{n_levels - 1 - int(m.group(1))}.upsamplers.0.conv.{m.group(2)}",
                False,
            )
    return None


# --------------------------------------------------------------------------- whole checkpoint


@dataclass
class ConversionResult:
    """Per-component state dicts plus what was ignored."""

    components: dict[str, dict[str, torch.Tensor]]
    ignored: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


def _check_schedule(sd: Mapping[str, torch.Tensor]) -> None:
    if "betas" not in sd:
        return
    betas = sd["betas"]
    if betas.is_meta:
        return
    want = torch.from_numpy(ldm_betas())
    got = betas.detach().double().cpu().reshape(-1)
    if got.shape != want.shape or not torch.allclose(got, want, atol=1e-8, rtol=0):
        raise ConversionError(
            "key 'betas' is not ldm's linear schedule 0.00085→0.012 over 1000 steps "
            "(diffusers 'scaled_linear'); this is not an L-CAD / SD 1.x checkpoint"
        )


def convert_official_state_dict(
    sd: Mapping[str, torch.Tensor],
    *,
    unet_cfg: Mapping[str, Any] | None = None,
    vae_cfg: Mapping[str, Any] | None = None,
    text_encoder_keys: Iterable[str] | None = None,
) -> ConversionResult:
    """Map an official ControlLDM_cat state dict onto the four model components.

    Args:
        sd: the official ``state_dict`` (already unwrapped from a PL checkpoint).
        unet_cfg / vae_cfg: the target configs (full size by default); they define the block layout.
        text_encoder_keys: the state-dict keys of the target ``CLIPTextModel`` (decides whether the
            ``text_model.`` prefix is kept and whether ``position_ids`` is kept). Default: the
            transformers-5 layout (no prefix, no position_ids).

    Raises:
        ConversionError: for unknown keys (all listed) or a wrong ``betas`` schedule.
    """
    unet_cfg = dict(unet_cfg or unet_config())
    vae_cfg = dict(vae_cfg or vae_config())
    n_levels = len(vae_cfg["block_out_channels"])
    r_vae = int(vae_cfg["layers_per_block"])
    table = unet_block_table(unet_cfg)
    text_keys = set(text_encoder_keys) if text_encoder_keys is not None else None
    text_prefixed = bool(text_keys) and any(k.startswith("text_model.") for k in text_keys)

    _check_schedule(sd)
    out: dict[str, dict[str, torch.Tensor]] = {name: {} for name in COMPONENT_NAMES}
    ignored: list[str] = []
    unknown: list[str] = []

    def put(component: str, key: str, value: torch.Tensor, source: str) -> None:
        if key in out[component]:
            raise ConversionError(f"keys {source!r} and another key both map to {component}.{key}")
        out[component][key] = value

    for key, value in sd.items():
        if key in IGNORED_EXACT:
            ignored.append(key)
            continue
        if key.startswith(UNET_PREFIX):
            new = map_unet_key(key[len(UNET_PREFIX) :], table)
            if new is None:
                unknown.append(key)
            else:
                put("unet", new, value, key)
            continue
        if key.startswith(FIRST_STAGE_PREFIX):
            rest = key[len(FIRST_STAGE_PREFIX) :]
            if rest.split(".")[0] in ("quant_conv", "post_quant_conv") and rest.count(".") == 1:
                put("vae", rest, value, key)
                continue
            part = rest.split(".", 1)[0]
            if part in ("encoder", "decoder", "g_encoder"):
                mapped = map_vae_part_key(rest[len(part) + 1 :], part, n_levels, r_vae)
                if mapped is None:
                    unknown.append(key)
                    continue
                new, squeeze = mapped
                if squeeze and value.ndim == 4:
                    value = value.reshape(value.shape[0], value.shape[1])
                if part == "g_encoder":
                    put("luminance_encoder", new, value, key)
                else:
                    put("vae", f"{part}.{new}", value, key)
                continue
            unknown.append(key)
            continue
        if key.startswith(CLIP_PREFIX):
            rest = key[len(CLIP_PREFIX) :]
            bare = rest.removeprefix("text_model.")
            new = f"text_model.{bare}" if text_prefixed else bare
            if rest.endswith(IGNORED_SUFFIXES) and (text_keys is None or new not in text_keys):
                ignored.append(key)
                continue
            put("text_encoder", new, value, key)
            continue
        unknown.append(key)
    if unknown:
        raise ConversionError(
            f"{len(unknown)} key(s) of the checkpoint are not part of the L-CAD layout: {_fmt_keys(unknown)}. "
            "Is this an official L-CAD (ControlLDM_cat) checkpoint? EMA or ControlNet checkpoints are not supported."
        )
    notes: dict[str, Any] = {}
    w = out["unet"].get("conv_in.weight")
    if w is not None and not w.is_meta and w.shape[1] > 4:
        notes["conv_in_gray_abs_mean"] = float(w[:, 4:].abs().mean())
        notes["conv_in_latent_abs_mean"] = float(w[:, :4].abs().mean())
    return ConversionResult(components=out, ignored=sorted(ignored), notes=notes)


def check_against_modules(result: ConversionResult, modules: Mapping[str, torch.nn.Module]) -> None:
    """Compare key sets and shapes with the target modules; raise :class:`ConversionError` naming keys."""
    problems: list[str] = []
    for name, module in modules.items():
        target = module.state_dict()
        got = result.components.get(name, {})
        missing = set(target) - set(got)
        unexpected = set(got) - set(target)
        if missing:
            problems.append(
                f"{name}: {len(missing)} parameter(s) not filled by the checkpoint: {_fmt_keys(missing)}"
            )
        if unexpected:
            problems.append(
                f"{name}: {len(unexpected)} converted key(s) the model does not have: {_fmt_keys(unexpected)}"
            )
        bad = [
            f"{k} checkpoint {tuple(got[k].shape)} vs model {tuple(target[k].shape)}"
            for k in sorted(set(got) & set(target))
            if tuple(got[k].shape) != tuple(target[k].shape)
        ]
        if bad:
            problems.append(
                f"{name}: {len(bad)} shape mismatch(es): "
                + "; ".join(bad[:8])
                + (" ..." if len(bad) > 8 else "")
            )
    if problems:
        raise ConversionError(
            "the checkpoint does not fit the L-CAD modules:\n  " + "\n  ".join(problems)
        )


def load_converted(
    result: ConversionResult, modules: Mapping[str, torch.nn.Module], *, assign: bool = False
) -> None:
    """Shape-check, then ``load_state_dict(strict=True)`` every component."""
    check_against_modules(result, modules)
    for name, module in modules.items():
        module.load_state_dict(result.components[name], strict=True, assign=assign)


# --------------------------------------------------------------------------- files


def load_official_checkpoint(
    path: str | Path, *, allow_pickle: bool = False
) -> dict[str, torch.Tensor]:
    """Read ``.ckpt``/``.pt``/``.pth`` (``torch.load(weights_only=True)``) or ``.safetensors``; unwrap ``state_dict``."""
    p = Path(path)
    if not p.is_file():
        raise MissingInputError(
            f"checkpoint {p} not found: download the official L-CAD weights first (see docs/lcad.md, 'Getting the weights')"
        )
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(p), device="cpu")
    import pickle

    try:
        obj = torch.load(str(p), map_location="cpu", weights_only=not allow_pickle, mmap=True)
    except (pickle.UnpicklingError, RuntimeError) as exc:
        if not allow_pickle and ("weights_only" in str(exc) or "Unsupported global" in str(exc)):
            raise ConversionError(
                f"{p} contains pickled Python objects that weights_only loading refuses ({str(exc).splitlines()[0][:200]}). "
                "If you trust the file, re-run with --allow-pickle (this executes code from the file)."
            ) from None
        raise ConversionError(f"cannot read {p} as a PyTorch checkpoint: {exc}") from None
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(
            f"{p} does not hold a state_dict of tensors (top-level type {type(obj).__name__})"
        )
    return dict(obj)


def _resolve_text_dirs(text_encoder: Path, tokenizer: Path | None) -> tuple[Path, Path]:
    if not text_encoder.is_dir():
        raise MissingInputError(
            f"--text-encoder {text_encoder} is not a folder: pass a local copy of openai/clip-vit-large-patch14 "
            "(config.json + tokenizer files) or a Stable Diffusion 1.x folder with text_encoder/ and tokenizer/"
        )
    te = (
        text_encoder / "text_encoder"
        if (text_encoder / "text_encoder" / "config.json").is_file()
        else text_encoder
    )
    if not (te / "config.json").is_file():
        raise MissingInputError(
            f"no config.json in {te}: --text-encoder must hold the CLIP text model config"
        )
    if tokenizer is None:
        tokenizer = (
            text_encoder / "tokenizer" if (text_encoder / "tokenizer").is_dir() else text_encoder
        )
    if not any((tokenizer / f).is_file() for f in ("vocab.json", "tokenizer.json")):
        raise MissingInputError(
            f"no CLIP tokenizer files (vocab.json/merges.txt or tokenizer.json) in {tokenizer}; pass --tokenizer DIR"
        )
    return te, tokenizer


def convert_checkpoint(
    checkpoint: str | Path,
    *,
    text_encoder: str | Path,
    out: str | Path,
    tokenizer: str | Path | None = None,
    allow_pickle: bool = False,
    dtype: torch.dtype = torch.float32,
    unet_cfg: Mapping[str, Any] | None = None,
    vae_cfg: Mapping[str, Any] | None = None,
    luminance_cfg: Mapping[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Convert an official checkpoint into an :class:`LCADPipeline` folder at ``out``; returns it."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from lcad_bench.lcad.luminance import LuminanceEncoder
    from lcad_bench.lcad.pipeline import LCADPipeline

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"output folder {out} exists and is not empty: choose a new --out folder")
    te_dir, tok_dir = _resolve_text_dirs(Path(text_encoder), Path(tokenizer) if tokenizer else None)
    log(f"reading {checkpoint}")
    sd = load_official_checkpoint(checkpoint, allow_pickle=allow_pickle)
    log(f"{len(sd)} keys")
    text_config = CLIPTextConfig.from_pretrained(str(te_dir))
    text_model = CLIPTextModel(text_config)
    unet_cfg = dict(unet_cfg or unet_config())
    vae_cfg = dict(vae_cfg or vae_config())
    lum_cfg = dict(luminance_cfg or luminance_config())
    with torch.device("meta"):
        modules: dict[str, torch.nn.Module] = {
            "unet": UNet2DConditionModel(**unet_cfg),
            "vae": AutoencoderKL(**vae_cfg),
            "luminance_encoder": LuminanceEncoder(**lum_cfg),
        }
    modules["text_encoder"] = text_model
    result = convert_official_state_dict(
        sd, unet_cfg=unet_cfg, vae_cfg=vae_cfg, text_encoder_keys=text_model.state_dict().keys()
    )
    result.components = {
        name: {k: v.to(dtype) for k, v in comp.items()} for name, comp in result.components.items()
    }
    load_converted(result, modules, assign=True)
    for name, module in modules.items():
        module.to(dtype)
        left = [n for n, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]
        if left:
            raise ConversionError(
                f"{name}: tensors left uninitialised after loading: {_fmt_keys(left)}"
            )
    tok = CLIPTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
    if len(tok) != text_config.vocab_size:
        raise InputFormatError(
            f"the tokenizer in {tok_dir} has {len(tok)} tokens but the text encoder expects {text_config.vocab_size} "
            "(49408 for openai/clip-vit-large-patch14); pass the matching --tokenizer folder"
        )
    pipe = LCADPipeline(tokenizer=tok, **modules)
    pipe.save_pretrained(out)
    report = {
        "source": str(Path(checkpoint).resolve()),
        "n_keys": len(sd),
        "ignored": result.ignored,
        "component_keys": {k: len(v) for k, v in result.components.items()},
        "dtype": str(dtype).replace("torch.", ""),
        "notes": result.notes,
    }
    (out / "conversion_report.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    log(
        f"wrote {out} ({', '.join(f'{k}: {v}' for k, v in report['component_keys'].items())}; ignored {len(result.ignored)})"
    )
    return out
