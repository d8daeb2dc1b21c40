"""The ``lcad`` model of the harness: the reference L-CAD pipeline behind the Colorizer interface.

    lcad-bench evaluate --model lcad --model-arg checkpoint=DIR [--model-arg preset=official_eval]
        [--model-arg dtype=fp16] [--model-arg device=cuda] --split data/ecs

``checkpoint`` is a pipeline folder written by ``lcad-bench convert-checkpoint`` (see
docs/lcad.md). The input is the request's L*; the output is the raw decoder RGB at the working
resolution (256 = the evaluation size), rounded to uint8. With ``postprocess=l_replace`` the
input L* is pasted back (``luminance_replaced``, separate leaderboard rows). The
``official_instance`` preset uses the split's instance prompt and masks (phrase k <-> mask k).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lcad_bench.errors import MissingInputError, UsageError
from lcad_bench.models import ColorizationRequest, Colorizer
from lcad_bench.models.base import placed_device

PRESETS = ("official_eval", "official_eval_legacy", "official_instance")


def checkpoint_files(root: Path) -> list[Path]:
    """Every regular file under ``root``, sorted, symlinked folders followed (a text encoder
    linked in from elsewhere is part of the model; each real folder is read once, so a link
    loop ends)."""
    import os

    files: list[Path] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        files += [Path(dirpath, f) for f in filenames if Path(dirpath, f).is_file()]
    return sorted(files)


class LCADColorizer(Colorizer):
    """L-CAD (NeurIPS 2023) on diffusers."""

    name = "lcad"
    version = "1"

    def __init__(
        self,
        checkpoint: str | None = None,
        preset: str = "official_eval",
        dtype: str = "fp32",
        device: str | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        resolution: int | None = None,
        postprocess: str = "none",
    ) -> None:
        if not checkpoint:
            raise MissingInputError(
                "the lcad model needs a converted checkpoint: --model-arg checkpoint=DIR, where DIR comes from "
                "`lcad-bench convert-checkpoint OFFICIAL.ckpt --text-encoder CLIP_DIR --out DIR`. "
                "docs/lcad.md says where to get the official weights."
            )
        if not (Path(checkpoint) / "model_index.json").is_file():
            raise MissingInputError(
                f"{Path(checkpoint) / 'model_index.json'} not found: {checkpoint} is not a converted L-CAD folder. See docs/lcad.md."
            )
        if preset not in PRESETS:
            raise UsageError(f"lcad: unknown preset {preset!r}; presets are {', '.join(PRESETS)}")
        if dtype not in ("fp32", "fp16", "bf16"):
            raise UsageError(f"lcad: dtype must be fp32, fp16 or bf16, got {dtype!r}")
        if postprocess not in ("none", "l_replace"):
            raise UsageError(
                "lcad: postprocess must be none or l_replace (resize_back is implied by the evaluation size)"
            )
        self.checkpoint, self.preset, self.dtype = str(checkpoint), preset, dtype
        self.requested_device = device  # None: cpu, or the launcher's device (use_device)
        self.device = placed_device(device, None)
        self.steps, self.guidance, self.resolution, self.postprocess = (
            steps,
            guidance,
            resolution,
            postprocess,
        )
        self.uses_instance_masks = preset == "official_instance"  # type: ignore[misc]
        self.luminance_replaced = postprocess == "l_replace"  # type: ignore[misc]
        self._pipe: Any = None

    def config(self) -> dict[str, Any]:
        """The settings and the sha256 of every file of the checkpoint folder: weights, but also
        model_index.json, the scheduler, unet, vae and text-encoder configs and the tokenizer
        files, which change pixels as much as the weights do."""
        from lcad_bench.fileio import file_sha256

        root = Path(self.checkpoint)
        return {
            "preset": self.preset, "dtype": self.dtype, "steps": self.steps, "guidance": self.guidance,
            "resolution": self.resolution, "postprocess": self.postprocess,
            "files_sha256": {p.relative_to(root).as_posix(): file_sha256(p) for p in checkpoint_files(root)},
        }  # fmt: skip

    def use_device(self, device: str) -> None:
        """Follow a data-parallel launch's device unless the user pinned one (``cpu``,
        ``cuda:0``); ``device=cuda`` becomes this process's GPU."""
        if self._pipe is None:
            self.device = placed_device(self.requested_device, device)

    def _pipeline(self) -> Any:
        if self._pipe is None:
            import torch

            from lcad_bench.lcad.pipeline import LCADPipeline

            dt = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[self.dtype]
            self._pipe = LCADPipeline.from_pretrained(
                self.checkpoint, torch_dtype=dt, device=self.device
            )
        return self._pipe

    def colorize(self, batch: Sequence[ColorizationRequest]) -> list[np.ndarray]:
        import torch
        from PIL import Image

        from lcad_bench.imaging import lab_to_srgb, srgb_to_lab, to_uint8

        pipe = self._pipeline()
        kw: dict[str, Any] = {"preset": self.preset}
        if self.steps is not None:
            kw["num_inference_steps"] = int(self.steps)
        if self.guidance is not None:
            kw["guidance_scale"] = float(self.guidance)
        if self.resolution is not None:
            kw["resolution"] = int(self.resolution)
        prompts = [r.description for r in batch]
        if self.uses_instance_masks:
            if any(r.masks is None or not r.instance_prompt for r in batch):
                raise UsageError(
                    "official_instance needs instance prompts and masks (use a multi-instance split at level complete)"
                )
            prompts = [r.instance_prompt or "" for r in batch]
            # request arrays are read-only; torch wants writable memory: copies
            kw["instance_masks"] = [torch.from_numpy(np.array(r.masks)) for r in batch]
        gens = [torch.Generator("cpu").manual_seed(int(r.seed)) for r in batch]
        res = pipe(
            prompts,
            luminance=[np.array(r.luminance) for r in batch],
            generator=gens,
            output_type="np",
            **kw,
        )
        out = []
        for r, img in zip(batch, res.images):
            h, w = r.luminance.shape
            rgb = to_uint8(img)
            if rgb.shape[:2] != (h, w):
                rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.BICUBIC))
            if self.postprocess == "l_replace":
                lab = srgb_to_lab(rgb)
                lab[..., 0] = r.luminance
                rgb = to_uint8(lab_to_srgb(lab))
            out.append(rgb)
        return out
