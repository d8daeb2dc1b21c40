"""Model registry, plug-in paths and baselines."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from lcad_bench.errors import UsageError
from lcad_bench.models import (
    ColorizationRequest,
    Colorizer,
    create_model,
    models,
    parse_model_args,
)


def _req(L=None, desc="", masks=None, phrases=()):
    from lcad_bench.imaging import luminance_and_gray

    rgb = np.full((16, 16, 3), 128, np.uint8) if L is None else L
    lum, gray = luminance_and_gray(rgb)
    return ColorizationRequest("k", "p#0", "complete", lum, gray, desc, None, masks, phrases, 0)


def test_builtins_registered_lazily():
    assert {"gray", "text-tint", "oracle-palette", "sd-img2img"} <= set(models.names())


def test_did_you_mean():
    with pytest.raises(UsageError, match="Did you mean 'gray'"):
        models.get("grey")
    with pytest.raises(UsageError, match="Did you mean 'text-tint'"):
        models.get("text-tnt")


def test_module_class_path(tmp_path, monkeypatch):
    (tmp_path / "my_colorizers.py").write_text(
        textwrap.dedent("""
        import numpy as np
        from lcad_bench.models import Colorizer
        class Red(Colorizer):
            name = "red"
            def colorize(self, batch):
                return [np.dstack([np.full(r.luminance.shape, 255, np.uint8)] + [np.zeros(r.luminance.shape, np.uint8)] * 2) for r in batch]
        class NotAModel:
            pass
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    m = create_model("my_colorizers:Red")
    assert m.colorize([_req()])[0][0, 0].tolist() == [255, 0, 0]
    with pytest.raises(UsageError, match="not a subclass of Colorizer"):
        models.get("my_colorizers:NotAModel")
    with pytest.raises(UsageError, match="cannot import module"):
        models.get("no_such_module_xyz:Thing")


def test_entry_point_plugin(monkeypatch, tmp_path):
    """A third-party distribution registering under lcad_bench.models is found by name."""
    import importlib.metadata as md

    (tmp_path / "thirdparty_pkg.py").write_text(
        "from lcad_bench.baselines.gray import GrayColorizer\nclass Third(GrayColorizer):\n    name = 'third'\n"
    )
    dist = tmp_path / "thirdparty-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[lcad_bench.models]\nthird-model = thirdparty_pkg:Third\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from lcad_bench.registry import Registry

    reg = Registry("model", base=Colorizer, group="lcad_bench.models")
    assert "third-model" in reg.names()
    cls = reg.get("third-model")
    assert cls.__name__ == "Third" and issubclass(cls, Colorizer)
    assert any(ep.name == "third-model" for ep in md.entry_points(group="lcad_bench.models"))


def test_model_args():
    assert parse_model_args(["steps=50", "guidance=7.5", "fp16=true", "name=abc", "path=/x=y"]) == {
        "steps": 50,
        "guidance": 7.5,
        "fp16": True,
        "name": "abc",
        "path": "/x=y",
    }
    with pytest.raises(UsageError, match="key=value"):
        parse_model_args(["steps"])
    with pytest.raises(UsageError, match="accepted --model-arg keys: strength, spacy_model"):
        create_model("text-tint", {"stregth": 0.5})


def test_gray_returns_luminance():
    r = _req(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8))
    out = create_model("gray").colorize([r])[0]
    assert out.dtype == np.uint8 and out.shape == (16, 16, 3)
    assert np.array_equal(out, r.gray) and np.array_equal(out[..., 0], out[..., 1])


def test_text_tint_follows_the_described_colour():
    from lcad_bench.imaging import srgb_to_lab

    m = create_model("text-tint")
    red = m.colorize([_req(desc="a red car")])[0]
    blue = m.colorize([_req(desc="a blue car")])[0]
    none = m.colorize([_req(desc="")])[0]
    lr, lb = srgb_to_lab(red).mean((0, 1)), srgb_to_lab(blue).mean((0, 1))
    assert lr[1] > 10 and lb[2] < -10  # red: a* > 0; blue: b* < 0
    assert abs(lr[0] - srgb_to_lab(none).mean((0, 1))[0]) < 1.0  # luminance kept
    assert np.array_equal(none, _req().gray)


def test_oracle_palette_paints_masks():
    from lcad_bench.imaging import srgb_to_lab

    masks = np.zeros((2, 16, 16), bool)
    masks[0, :8] = True
    masks[1, 8:] = True
    phrases = ({"colours": [{"canonical": "red"}]}, {"colours": [{"canonical": "green"}]})
    out = create_model("oracle-palette").colorize([_req(masks=masks, phrases=phrases)])[0]
    lab = srgb_to_lab(out)
    assert lab[:8, :, 1].mean() > 20 and lab[8:, :, 1].mean() < -20
