"""Full-size key coverage on the meta device: every one of the 1,270 official keys maps with matching shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

MANIFEST = Path("/work/shared/design/lcad-official-keys.json")
LOCAL_COPY = Path(__file__).parent / "data" / "lcad-official-keys.json"


def _manifest() -> dict[str, list[int]]:
    for path in (LOCAL_COPY, MANIFEST):
        if path.is_file():
            return json.loads(path.read_text())["keys"]
    pytest.skip("lcad-official-keys.json not available")


@pytest.fixture(scope="module")
def full_size_meta():
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from lcad_bench.lcad.components import (
        clip_vit_l14_text_config,
        luminance_config,
        unet_config,
        vae_config,
    )
    from lcad_bench.lcad.luminance import LuminanceEncoder

    with torch.device("meta"):
        return {
            "unet": UNet2DConditionModel(**unet_config()),
            "vae": AutoencoderKL(**vae_config()),
            "luminance_encoder": LuminanceEncoder(**luminance_config()),
            "text_encoder": CLIPTextModel(CLIPTextConfig(**clip_vit_l14_text_config())),
        }


def test_manifest_counts():
    keys = _manifest()
    assert len(keys) == 1270
    prefixes = {
        "model.diffusion_model.": 686,
        "first_stage_model.encoder.": 106,
        "first_stage_model.decoder.": 138,
        "first_stage_model.g_encoder.": 126,
        "cond_stage_model.transformer.": 197,
    }
    for prefix, n in prefixes.items():
        assert sum(k.startswith(prefix) for k in keys) == n, prefix
    assert keys["model.diffusion_model.input_blocks.0.0.weight"] == [320, 516, 3, 3]


def test_full_size_conversion_on_meta(full_size_meta):
    from lcad_bench.lcad.convert import (
        check_against_modules,
        convert_official_state_dict,
        load_converted,
    )

    keys = _manifest()
    official = {k: torch.empty(shape, device="meta") for k, shape in keys.items()}
    result = convert_official_state_dict(
        official, text_encoder_keys=full_size_meta["text_encoder"].state_dict().keys()
    )
    check_against_modules(result, full_size_meta)  # raises with the offending keys
    assert len(result.ignored) == 18
    assert sum(len(v) for v in result.components.values()) == 1270 - 18
    counts = {k: len(v) for k, v in result.components.items()}
    assert counts == {
        "unet": 686,
        "vae": 106 + 138 + 4,
        "luminance_encoder": 122,
        "text_encoder": 196,
    }
    assert tuple(result.components["unet"]["conv_in.weight"].shape) == (320, 516, 3, 3)
    load_converted(result, full_size_meta, assign=True)
    params = sum(p.numel() for p in full_size_meta["luminance_encoder"].parameters())
    assert (
        params == 35_904_136 - (8 * 512 * 9 + 8) - 2 * 512
    )  # the official g_encoder minus norm_out/conv_out
    unet_params = sum(p.numel() for p in full_size_meta["unet"].parameters())
    assert unet_params == 860_995_524


def test_transformers4_text_layout_keeps_prefix():
    """A target CLIP model with ``text_model.*`` keys (transformers 4.x) gets prefixed names and position_ids."""
    from lcad_bench.lcad.convert import convert_official_state_dict

    keys = _manifest()
    official = {k: torch.empty(shape, device="meta") for k, shape in keys.items()}
    target = {
        f"text_model.{k[len('cond_stage_model.transformer.text_model.') :]}"
        for k in keys
        if k.startswith("cond_stage_model.")
    }
    result = convert_official_state_dict(official, text_encoder_keys=target)
    assert set(result.components["text_encoder"]) == target
    assert "cond_stage_model.transformer.text_model.embeddings.position_ids" not in result.ignored


def test_unknown_and_missing_keys_are_named(full_size_meta):
    from lcad_bench.lcad.convert import (
        ConversionError,
        check_against_modules,
        convert_official_state_dict,
    )

    keys = _manifest()
    official = {k: torch.empty(shape, device="meta") for k, shape in keys.items()}
    official["model_ema.decay"] = torch.empty((), device="meta")
    official["control_model.zero_convs.0.0.weight"] = torch.empty(1, device="meta")
    with pytest.raises(
        ConversionError, match=r"control_model\.zero_convs\.0\.0\.weight, model_ema\.decay"
    ):
        convert_official_state_dict(official)
    del official["model_ema.decay"], official["control_model.zero_convs.0.0.weight"]
    del official["model.diffusion_model.out.2.bias"]
    official["model.diffusion_model.input_blocks.0.0.weight"] = torch.empty(
        320, 4, 3, 3, device="meta"
    )
    result = convert_official_state_dict(
        official, text_encoder_keys=full_size_meta["text_encoder"].state_dict().keys()
    )
    with pytest.raises(ConversionError) as err:
        check_against_modules(result, full_size_meta)
    assert "conv_out.bias" in str(err.value)
    assert "conv_in.weight checkpoint (320, 4, 3, 3) vs model (320, 516, 3, 3)" in str(err.value)


def test_wrong_schedule_is_rejected():
    from lcad_bench.lcad.convert import ConversionError, convert_official_state_dict

    with pytest.raises(ConversionError, match="betas"):
        convert_official_state_dict({"betas": torch.linspace(1e-4, 0.02, 1000)})
