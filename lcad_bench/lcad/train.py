"""Training of the reference L-CAD model with accelerate (docs/lcad.md#training).

* **Stage 2** (the diffusion fine-tuning of ``colorization_main.py -t``): trainable ``conv_in``,
  all ``up_blocks`` (official ``output_blocks``) and ``conv_norm_out``/``conv_out`` (``out``);
  AdamW, lr 2e-5, PyTorch defaults otherwise; ε-MSE with ``z = 0.18215 · VAE.encode(rgb).sample()``,
  ``t ~ U{0..999}``; gray features from the frozen luminance encoder; optional caption dropout
  (official: none). ``--trainable conv_in`` gives the pre-2024-01-23 regime.
* **Stage 1** (luminance encoder with the decoder taps): the official script and settings are
  unpublished, so this is the project's documented choice: only the luminance encoder trains,
  Adam(betas 0.5, 0.9), lr 1e-4; loss ``L1(rec, x) + w · L1(W ⊙ rec, W ⊙ x)`` where ``W`` is the
  LDL artifact map of the official loss (global residual variance^(1/5) × local 7x7 variance) and
  ``w = 1``; no GAN and no KL term (the KL is constant in the encoder's parameters).

Every random draw of step ``s`` comes from generators seeded with ``(seed, s)``, so a run resumed
from its checkpoint continues with exactly the losses of an uninterrupted run.

Split files: JSONL with one ``{"image": PATH, "caption": TEXT}`` (or ``"captions": [...]``) per
line, or the official caption JSON ``{"<file name>": [caption, ...]}``; relative image paths are
resolved against ``image_root`` (default: the split file's folder).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lcad_bench.errors import InputFormatError, MissingInputError, UsageError
from lcad_bench.lcad import preprocess as pp

STAGE2_TRAINABLE = {
    "official": ("conv_in.", "up_blocks.", "conv_norm_out.", "conv_out."),
    "conv_in": ("conv_in.",),
}


@dataclass
class TrainConfig:
    """Settings of one training run (see the module docstring for defaults and their sources)."""

    stage: int
    split: Path
    pipeline: Path
    out: Path
    image_root: Path | None = None
    steps: int = 1000
    batch_size: int = 16
    lr: float | None = None  # stage 2: 2e-5; stage 1: 1e-4
    caption_dropout: float = 0.0
    resolution: int = 256
    seed: int = 0
    save_every: int = 500
    log_every: int = 10
    resume: Path | None = None
    mixed_precision: str = "no"
    trainable: str = "official"
    augment: bool = True
    artifact_weight: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    def resolved_lr(self) -> float:
        if self.lr is not None:
            return float(self.lr)
        return 2e-5 if self.stage == 2 else 1e-4

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


# --------------------------------------------------------------------------- data


@dataclass
class Record:
    image: Path
    captions: list[str]


def _records_from_split_folder(folder: Path) -> list[Record]:
    """Training records from an lcad-bench split folder: one record per image with all its
    captions (embedded images are written once to a temporary folder)."""
    import tempfile

    from lcad_bench.splits import load_split

    split = load_split(folder)
    captions: dict[str, list[str]] = {}
    images: dict[str, Path] = {}
    tmp: Path | None = None
    for rec in split.records:
        captions.setdefault(rec.image_key, []).append(rec.caption)
        if rec.image_key in images:
            continue
        f = split.image_file(rec)
        if f is None:  # embedded bytes
            if tmp is None:
                tmp = Path(tempfile.mkdtemp(prefix="lcad-train-images-"))
            f = tmp / f"{rec.image_key}.img"
            f.write_bytes(rec.image_bytes or b"")
        images[rec.image_key] = f
    missing = [str(f) for f in images.values() if not f.is_file()]
    if missing:
        raise MissingInputError(
            f"{len(missing)} image(s) of split {folder} not found, e.g. {missing[0]}"
        )
    return [Record(images[k], captions[k]) for k in sorted(images)]


def read_split(path: str | Path, image_root: str | Path | None = None) -> list[Record]:
    """Read a training split: an lcad-bench split folder, JSONL records, or the official
    ``{file: [captions]}`` JSON."""
    p = Path(path)
    if p.is_dir() and (p / "manifest.json").is_file():
        return _records_from_split_folder(p)
    if not p.is_file():
        raise MissingInputError(
            f"split {p} not found: pass a split folder built by `lcad-bench build`, a JSONL of "
            "{'image', 'caption'} records or an L-CAD caption JSON"
        )
    root = Path(image_root) if image_root is not None else p.parent
    records: list[Record] = []
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"{p} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InputFormatError(
                f"{p}: expected an object {{file name: [captions]}}, got {type(data).__name__}"
            )
        for name, caps in sorted(data.items()):
            caps = [caps] if isinstance(caps, str) else list(caps)
            records.append(Record(root / name, [str(c) for c in caps]))
    else:
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFormatError(f"{p} line {lineno} is not JSON: {exc}") from None
            if "image" not in row or not ("caption" in row or "captions" in row):
                raise InputFormatError(
                    f"{p} line {lineno}: needs 'image' and 'caption' (or 'captions')"
                )
            caps = row.get("captions") or [row["caption"]]
            records.append(Record(root / row["image"], [str(c) for c in caps]))
    if not records:
        raise InputFormatError(f"{p} holds no training records")
    missing = [str(r.image) for r in records if not r.image.is_file()]
    if missing:
        raise MissingInputError(
            f"{len(missing)} image(s) of {p} not found, e.g. {missing[0]}; set --image-root"
        )
    for r in records:
        if not r.captions:
            raise InputFormatError(f"{p}: image {r.image} has no caption")
    return records


def _rng(seed: int, step: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, step, salt])


def _torch_gen(seed: int, step: int, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(_rng(seed, step, salt).integers(0, 2**62)))


def batch_indices(n: int, batch_size: int, step: int, seed: int) -> list[int]:
    """Indices of step ``step`` (0-based): consecutive slices of per-epoch seeded permutations."""
    out = []
    for pos in range(step * batch_size, (step + 1) * batch_size):
        epoch, i = divmod(pos, n)
        out.append(int(_rng(seed, epoch, 7).permutation(n)[i]))
    return out


def load_example(
    rec: Record, resolution: int, rng: np.random.Generator, augment: bool
) -> tuple[torch.Tensor, str]:
    """RGB in [0,1] ``[3,R,R]`` (RandomResizedCrop 0.8–1.0 bicubic + hflip, or plain resize) and a caption."""
    from PIL import Image

    img = Image.open(rec.image).convert("RGB")
    if augment:
        w, h = img.size
        area = w * h
        box = (0, 0, w, h)
        for _ in range(10):  # torchvision RandomResizedCrop.get_params
            target = area * rng.uniform(0.8, 1.0)
            ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            cw = round(math.sqrt(target * ratio))
            ch = round(math.sqrt(target / ratio))
            if 0 < cw <= w and 0 < ch <= h:
                top = int(rng.integers(0, h - ch + 1))
                left = int(rng.integers(0, w - cw + 1))
                box = (left, top, left + cw, top + ch)
                break
        img = img.crop(box).resize((resolution, resolution), Image.BICUBIC)
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
    else:
        img = img.resize((resolution, resolution), Image.BILINEAR)
    caption = rec.captions[int(rng.integers(0, len(rec.captions)))]
    return pp.pil_to_tensor(img, None), caption


def make_batch(
    records: list[Record], cfg: TrainConfig, step: int
) -> tuple[torch.Tensor, list[str]]:
    idx = batch_indices(len(records), cfg.batch_size, step, cfg.seed)
    rng = _rng(cfg.seed, step, 1)
    items = [load_example(records[i], cfg.resolution, rng, cfg.augment) for i in idx]
    rgb = torch.stack([x for x, _ in items])
    caps = [c for _, c in items]
    if cfg.caption_dropout > 0:
        drop = _rng(cfg.seed, step, 2).random(len(caps)) < cfg.caption_dropout
        caps = ["" if d else c for c, d in zip(caps, drop)]
    return rgb, caps


# --------------------------------------------------------------------------- losses


def artifact_map(x: torch.Tensor, rec: torch.Tensor, k: int = 7) -> torch.Tensor:
    """LDL artifact weight: var(residual)^(1/5) over the image × local k×k unbiased variance (reflect pad)."""
    residual = (x - rec).abs().sum(dim=1, keepdim=True)
    global_w = residual.var(dim=(1, 2, 3), keepdim=True) ** (1 / 5)
    pad = k // 2
    padded = F.pad(residual, (pad, pad, pad, pad), mode="reflect")
    patches = F.unfold(padded, kernel_size=k)  # [B, k*k, H*W]
    local = patches.var(dim=1, unbiased=True).view_as(residual)
    return global_w * local


def stage2_loss(
    pipe: Any, rgb: torch.Tensor, captions: list[str], gen: torch.Generator
) -> torch.Tensor:
    """ε-MSE of the official ``p_losses`` for one batch (RGB in [0,1])."""
    device = pipe.device
    with torch.no_grad():
        jpg = (rgb * 2 - 1).to(device)
        hint = pp.luminance_to_hint(pp.srgb_to_luminance(rgb)).to(device)
        posterior = pipe.vae.encode(jpg).latent_dist
        eps_post = torch.randn(posterior.mean.shape, generator=gen).to(device)
        z = (posterior.mean + posterior.std * eps_post) * pipe.vae.config.scaling_factor
        gray = pipe.luminance_encoder(hint)[-1]
        context = pipe.encode_prompt(captions)
        t = torch.randint(0, 1000, (rgb.shape[0],), generator=gen).to(device)
        noise = torch.randn(z.shape, generator=gen).to(device)
        ac = pipe.scheduler.alphas_cumprod.to(device)[t].view(-1, 1, 1, 1)
        x_t = ac.sqrt() * z + (1 - ac).sqrt() * noise
    pipe.controller.begin_unet_call(tuple(x_t.shape[-2:]))
    eps = pipe.unet(torch.cat([x_t, gray], dim=1), t, encoder_hidden_states=context).sample
    return F.mse_loss(eps.float(), noise.float())


def stage1_loss(
    pipe: Any, rgb: torch.Tensor, gen: torch.Generator, artifact_weight: float = 1.0
) -> torch.Tensor:
    """Reconstruction through the luminance-guided decoder; gradients reach only the luminance encoder."""
    from lcad_bench.lcad.decoder import decode_with_luminance

    device = pipe.device
    with torch.no_grad():
        x = (rgb * 2 - 1).to(device)
        hint = pp.luminance_to_hint(pp.srgb_to_luminance(rgb)).to(device)
        posterior = pipe.vae.encode(x).latent_dist
        z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=gen).to(
            device
        )
    rec = decode_with_luminance(pipe.vae, z, pipe.luminance_encoder(hint), latents_are_scaled=False)
    loss = F.l1_loss(rec, x)
    if artifact_weight:
        w = artifact_map(x, rec)
        loss = loss + artifact_weight * F.l1_loss(w * rec, w * x)
    return loss


@torch.no_grad()
def evaluation_loss(
    pipe: Any, rgb: torch.Tensor, captions: list[str], stage: int, seed: int = 1234
) -> float:
    """The training loss on a fixed batch with fixed noise and timesteps (to compare checkpoints)."""
    gen = torch.Generator().manual_seed(seed)
    loss = stage2_loss(pipe, rgb, captions, gen) if stage == 2 else stage1_loss(pipe, rgb, gen)
    return float(loss)


# --------------------------------------------------------------------------- loop


def _trainable_params(
    pipe: Any, cfg: TrainConfig
) -> tuple[torch.nn.Module, dict[str, torch.nn.Parameter]]:
    for module in (pipe.unet, pipe.vae, pipe.luminance_encoder, pipe.text_encoder):
        module.requires_grad_(False)
    if cfg.stage == 1:
        module = pipe.luminance_encoder
        prefixes: tuple[str, ...] = ("",)
    else:
        if cfg.trainable not in STAGE2_TRAINABLE:
            raise UsageError(
                f"--trainable must be one of {', '.join(STAGE2_TRAINABLE)}, got {cfg.trainable!r}"
            )
        module = pipe.unet
        prefixes = STAGE2_TRAINABLE[cfg.trainable]
    params = {n: p for n, p in module.named_parameters() if n.startswith(prefixes)}
    for p in params.values():
        p.requires_grad_(True)
    return module, params


def _latest_checkpoint(out: Path) -> Path | None:
    ckpts = sorted((out / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))
    return ckpts[-1] if ckpts else None


def save_checkpoint(
    folder: Path, step: int, params: dict[str, torch.nn.Parameter], optimizer: Any, cfg: TrainConfig
) -> Path:
    """``trainable.safetensors`` + ``optimizer.pt`` + ``state.json`` under ``folder/checkpoints/step-N``."""
    from safetensors.torch import save_file

    target = folder / "checkpoints" / f"step-{step}"
    tmp = target.with_name(target.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_file(
        {n: p.detach().cpu().contiguous() for n, p in params.items()},
        str(tmp / "trainable.safetensors"),
    )
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    (tmp / "state.json").write_text(
        json.dumps({"step": step, "config": cfg.to_json()}, indent=2) + "\n", encoding="utf-8"
    )
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)
    return target


def load_checkpoint(
    path: Path, params: dict[str, torch.nn.Parameter], optimizer: Any, stage: int
) -> int:
    """Restore trainable weights and optimizer state; return the number of completed steps."""
    from safetensors.torch import load_file

    state_path = path / "state.json"
    if not state_path.is_file():
        raise MissingInputError(
            f"{path} is not a training checkpoint (no state.json); pass a checkpoints/step-N folder or 'latest'"
        )
    state = json.loads(state_path.read_text())
    if int(state["config"]["stage"]) != stage:
        raise UsageError(
            f"{path} is a stage-{state['config']['stage']} checkpoint but --stage {stage} was given"
        )
    weights = load_file(str(path / "trainable.safetensors"))
    if set(weights) != set(params):
        diff = sorted(set(weights) ^ set(params))[:5]
        raise InputFormatError(
            f"{path}: trainable parameter names differ from this run's (e.g. {diff}); same --trainable?"
        )
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(weights[n].to(p.dtype))
    optimizer.load_state_dict(
        torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True)
    )
    return int(state["step"])


def train(
    cfg: TrainConfig, *, pipe: Any = None, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run stage 1 or 2; returns ``{"losses": {step: loss}, "final": folder, "last_checkpoint": folder}``."""
    from accelerate import Accelerator

    from lcad_bench.lcad.pipeline import LCADPipeline

    if cfg.stage not in (1, 2):
        raise UsageError(f"--stage must be 1 or 2, got {cfg.stage}")
    if not 0.0 <= cfg.caption_dropout <= 1.0:
        raise UsageError(f"--caption-dropout must be in [0, 1], got {cfg.caption_dropout}")
    records = read_split(cfg.split, cfg.image_root)
    if pipe is None:
        pipe = LCADPipeline.from_pretrained(cfg.pipeline)
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(), mixed_precision=cfg.mixed_precision
    )
    pipe.to(accelerator.device)
    module, params = _trainable_params(pipe, cfg)
    if cfg.stage == 2:
        optimizer = torch.optim.AdamW(list(params.values()), lr=cfg.resolved_lr())
    else:
        optimizer = torch.optim.Adam(list(params.values()), lr=cfg.resolved_lr(), betas=(0.5, 0.9))
    optimizer = accelerator.prepare(optimizer)
    cfg.out.mkdir(parents=True, exist_ok=True)
    start = 0
    if cfg.resume is not None:
        ckpt = _latest_checkpoint(cfg.out) if str(cfg.resume) == "latest" else Path(cfg.resume)
        if ckpt is None:
            raise MissingInputError(
                f"--resume latest: no checkpoints under {cfg.out / 'checkpoints'}"
            )
        start = load_checkpoint(ckpt, params, optimizer, cfg.stage)
        log(f"resumed from {ckpt} at step {start}")
    module.train()
    log_path = cfg.out / "train_log.jsonl"
    losses: dict[int, float] = {}
    last_ckpt: Path | None = None
    t0 = time.time()
    n_params = sum(p.numel() for p in params.values())
    log(
        f"stage {cfg.stage}: {len(records)} images, {n_params:,} trainable parameters, lr {cfg.resolved_lr():g}, steps {start}->{cfg.steps}"
    )
    with log_path.open("a", encoding="utf-8") as fh:
        for step in range(start, cfg.steps):
            rgb, caps = make_batch(records, cfg, step)
            gen = _torch_gen(cfg.seed, step, 3)
            with accelerator.autocast():
                loss = (
                    stage2_loss(pipe, rgb, caps, gen)
                    if cfg.stage == 2
                    else stage1_loss(pipe, rgb, gen, cfg.artifact_weight)
                )
            if not torch.isfinite(loss):
                raise RuntimeError(f"loss is {float(loss)} at step {step + 1}; lower --lr")
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            value = float(loss.detach())
            losses[step + 1] = value
            fh.write(
                json.dumps({"step": step + 1, "loss": value, "time_s": round(time.time() - t0, 3)})
                + "\n"
            )
            fh.flush()
            if cfg.log_every and ((step + 1) % cfg.log_every == 0 or step == start):
                rate = (time.time() - t0) / (step + 1 - start)
                log(f"step {step + 1}/{cfg.steps} loss {value:.5f} ({rate:.2f} s/step)")
            if cfg.save_every and (step + 1) % cfg.save_every == 0:
                last_ckpt = save_checkpoint(cfg.out, step + 1, params, optimizer, cfg)
    module.eval()
    module.requires_grad_(False)
    if cfg.steps > start and (last_ckpt is None or not last_ckpt.name.endswith(f"-{cfg.steps}")):
        last_ckpt = save_checkpoint(cfg.out, cfg.steps, params, optimizer, cfg)
    final = pipe.save_pretrained(cfg.out / "final")
    log(f"saved the trained pipeline to {final}")
    return {"losses": losses, "final": final, "last_checkpoint": last_ckpt}
