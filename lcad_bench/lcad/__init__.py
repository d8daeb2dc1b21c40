"""The reference L-CAD model on diffusers/transformers (see docs/lcad.md).

Public names are imported lazily so that ``import lcad_bench.lcad`` does not import torch:

* :class:`LCADPipeline`, :class:`LCADOutput` (``pipeline``);
* :class:`LuminanceEncoder` (``luminance``), :func:`decode_with_luminance` (``decoder``);
* :data:`PRESETS`, :class:`LCADPreset` (``presets``);
* :func:`convert_checkpoint`, :func:`convert_official_state_dict` (``convert``);
* :class:`AttentionController`, :class:`LCADAttnProcessor`, :func:`instance_spans_from_prompt`
  (``attention``); :class:`TrainConfig`, :func:`train` (``train``).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LCADPipeline": "pipeline",
    "LCADOutput": "pipeline",
    "LuminanceEncoder": "luminance",
    "decode_with_luminance": "decoder",
    "PRESETS": "presets",
    "LCADPreset": "presets",
    "get_preset": "presets",
    "convert_checkpoint": "convert",
    "convert_official_state_dict": "convert",
    "AttentionController": "attention",
    "LCADAttnProcessor": "attention",
    "instance_spans_from_prompt": "attention",
    "TrainConfig": "train",
    "train": "train",
    "make_scheduler": "components",
    "unet_config": "components",
    "vae_config": "components",
    "luminance_config": "components",
    "image_to_hint": "preprocess",
}

__all__ = [
    "PRESETS",
    "AttentionController",
    "LCADAttnProcessor",
    "LCADOutput",
    "LCADPipeline",
    "LCADPreset",
    "LuminanceEncoder",
    "TrainConfig",
    "convert_checkpoint",
    "convert_official_state_dict",
    "decode_with_luminance",
    "get_preset",
    "image_to_hint",
    "instance_spans_from_prompt",
    "luminance_config",
    "make_scheduler",
    "train",
    "unet_config",
    "vae_config",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lcad_bench.lcad' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lcad_bench.lcad.{module}"), name)
