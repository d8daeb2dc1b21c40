"""Named sampling presets of the reference L-CAD model (docs/lcad.md#presets)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LCADPreset:
    """Sampling settings; every field can be overridden per call of :class:`LCADPipeline`.

    Attributes:
        num_inference_steps: DDIM steps (ldm "uniform" discretisation, eta 0).
        guidance_scale: classifier-free guidance scale ``s`` in ``eps_u + s (eps_c - eps_u)``.
        attention_reuse: ``"none"`` (standard attention) or ``"legacy_alternating"`` (the official
            HEAD attention-logit cache: even UNet calls reuse the previous call's logits).
        instance_guidance: run the two-pass instance-aware step (needs masks and phrases).
        guidance_step_size: step on the logits (official 1.0).
        guidance_reduction: ``"mean"`` (official BCE mean) or ``"sum"``.
        resolution: square working resolution (official 256).
        postprocess: ``"none"`` (raw decoder RGB at ``resolution``), ``"resize_back"`` or
            ``"l_replace"`` (resize back and replace L* with the input's, in Lab).
    """

    num_inference_steps: int = 50
    guidance_scale: float = 4.5
    attention_reuse: str = "none"
    instance_guidance: bool = False
    guidance_step_size: float = 1.0
    guidance_reduction: str = "mean"
    resolution: int = 256
    postprocess: str = "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, LCADPreset] = {
    # ControlLDM_cat.test_step_org: 50 DDIM steps, CFG 4.5, uncond = "" + the same hint
    "official_eval": LCADPreset(num_inference_steps=50, guidance_scale=4.5),
    # the same with the HEAD attention-logit cache, for parity with released numbers
    "official_eval_legacy": LCADPreset(
        num_inference_steps=50, guidance_scale=4.5, attention_reuse="legacy_alternating"
    ),
    # inference.py: 50 steps, CFG 5.0, instance guidance step 1.0, mean BCE
    "official_instance": LCADPreset(
        num_inference_steps=50,
        guidance_scale=5.0,
        instance_guidance=True,
        guidance_step_size=1.0,
        guidance_reduction="mean",
    ),
}

ATTENTION_REUSE = ("none", "legacy_alternating")
POSTPROCESS = ("none", "resize_back", "l_replace")


def get_preset(name: str) -> LCADPreset:
    """The preset called ``name``; ``KeyError`` lists the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(
            f"unknown L-CAD preset {name!r}; known: {', '.join(sorted(PRESETS))}"
        ) from None
