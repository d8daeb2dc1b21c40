"""``sd-img2img``: Stable Diffusion img2img from a local folder, prompted with the description,
followed by luminance replacement.

The gray input goes through ``StableDiffusionImg2ImgPipeline`` (diffusers) with the description as
prompt ("" at level none), ``strength`` of noise, ``steps`` and ``guidance``; the result is resized
back to the evaluation size and its CIELab L* is replaced by the input's, keeping only the
generated chroma (``luminance_replaced``). Weights are read from a local diffusers folder
(``model_dir=`` or ``$LCAD_BENCH_SD_MODEL``), never downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lcad_bench.errors import MissingInputError, UsageError
from lcad_bench.models import ColorizationRequest, Colorizer
from lcad_bench.models.base import placed_device

ENV_VAR = "LCAD_BENCH_SD_MODEL"


class SDImg2ImgColorizer(Colorizer):
    """Stable Diffusion img2img + L* replacement."""

    name = "sd-img2img"
    version = "1"
    luminance_replaced = True

    def __init__(
        self,
        model_dir: str | None = None,
        steps: int = 25,
        strength: float = 0.6,
        guidance: float = 7.5,
        resolution: int = 512,
        device: str | None = None,
        dtype: str = "fp32",
    ) -> None:
        path = model_dir or os.environ.get(ENV_VAR)
        if not path:
            raise MissingInputError(
                "sd-img2img needs a local Stable Diffusion folder in diffusers format (model_index.json, unet/, vae/, "
                f"text_encoder/, tokenizer/, scheduler/): pass --model-arg model_dir=DIR or set ${ENV_VAR}. "
                "See docs/weights.md."
            )
        p = Path(path)
        if not (p / "model_index.json").is_file():
            raise MissingInputError(
                f"{p / 'model_index.json'} not found: {p} is not a diffusers Stable Diffusion folder. See docs/weights.md."
            )
        if dtype not in ("fp32", "fp16", "bf16"):
            raise UsageError(f"sd-img2img: dtype must be fp32, fp16 or bf16, got {dtype!r}")
        if not 0.0 < float(strength) <= 1.0:
            raise UsageError(f"sd-img2img: strength must be in (0, 1], got {strength}")
        self.model_dir = str(p)
        self.steps, self.strength, self.guidance = int(steps), float(strength), float(guidance)
        self.resolution, self.dtype = int(resolution), dtype
        self.requested_device = device  # None: cpu, or the launcher's device (use_device)
        self.device = placed_device(device, None)
        self._pipe: Any = None

    def config(self) -> dict[str, Any]:
        return {"model_dir": Path(self.model_dir).name, "steps": self.steps, "strength": self.strength,
                "guidance": self.guidance, "resolution": self.resolution, "dtype": self.dtype}  # fmt: skip

    def use_device(self, device: str) -> None:
        """Follow a data-parallel launch's device unless the user pinned one."""
        if self._pipe is None:
            self.device = placed_device(self.requested_device, device)

    def _pipeline(self) -> Any:
        if self._pipe is None:
            import torch
            from diffusers import StableDiffusionImg2ImgPipeline

            dt = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[self.dtype]
            try:
                pipe = StableDiffusionImg2ImgPipeline.from_pretrained(
                    self.model_dir,
                    torch_dtype=dt,
                    local_files_only=True,
                    safety_checker=None,
                    requires_safety_checker=False,
                )
            except (OSError, ValueError) as exc:
                raise MissingInputError(
                    f"sd-img2img: cannot load {self.model_dir} ({exc}). See docs/weights.md."
                ) from exc
            pipe.set_progress_bar_config(disable=True)
            self._pipe = pipe.to(self.device)
        return self._pipe

    def colorize(self, batch: Sequence[ColorizationRequest]) -> list[np.ndarray]:
        import torch
        from PIL import Image

        from lcad_bench.imaging import lab_to_srgb, srgb_to_lab, to_uint8

        pipe = self._pipeline()
        out = []
        for r in batch:
            h, w = r.luminance.shape
            init = Image.fromarray(r.gray).resize(
                (self.resolution, self.resolution), Image.Resampling.BICUBIC
            )
            g = torch.Generator("cpu").manual_seed(int(r.seed))
            res = pipe(prompt=r.description, image=init, strength=self.strength, num_inference_steps=self.steps,
                       guidance_scale=self.guidance, generator=g, output_type="np").images[0]  # fmt: skip
            gen = Image.fromarray(to_uint8(res)).resize((w, h), Image.Resampling.BICUBIC)
            lab = srgb_to_lab(np.asarray(gen))
            lab[..., 0] = r.luminance
            out.append(to_uint8(lab_to_srgb(lab)))
        return out
