"""``lcad-bench build demo``: the embedded demo split, its captions and hand-drawn masks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lcad_bench.protocol import LEVELS
from lcad_bench.splits import load_split

# Lab hue-angle ranges (degrees) per colour family, deliberately generous: the test guards against
# a mask drawn on the wrong object or a caption naming the wrong colour, not against shading.
HUE_FAMILIES = {
    "red": [(330, 360), (0, 60)],
    "pink": [(320, 360), (0, 60)],
    "orange": [(35, 80)],
    "brown": [(30, 90)],
    "yellow": [(65, 115)],
    "green": [(85, 175)],
    "teal": [(160, 235)],
    "blue": [(195, 310)],
    "purple": [(280, 345)],
}
# achromatic names: a low chroma of the mean colour and a lightness range
ACHROMATIC = {"black": (0, 35), "white": (45, 100), "gray": (25, 85), "silver": (25, 90)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from lcad_bench.builders.demo import build_demo

    out = tmp_path_factory.mktemp("demo") / "split"
    m = build_demo(out)
    return out, m


def test_demo_split_loads(demo, tmp_path):
    out, m = demo
    s = load_split(out)
    assert len({r.image_key for r in s.records}) >= 8
    assert len(s.records) >= 12 and m.counts["pairs"] == len(s.records)
    assert {r.natural_level for r in s.records} == set(LEVELS)
    assert all(m.counts["natural_levels"][lv] > 0 for lv in LEVELS)
    assert s.manifest.embed_images and all(r.image_bytes for r in s.records)
    assert s.manifest.spacy["name"] and s.manifest.lexicon_version and s.manifest.rules_version
    for r in s.records:
        im = s.load_image(r)
        assert im.size == (r.width, r.height)
        assert r.descriptions["none"] == "" and r.descriptions["complete"] == r.caption
    import datasets

    ds = datasets.load_dataset(str(out), split="test", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == len(s.records)


def test_masks_and_links(demo):
    out, _ = demo
    s = load_split(out)
    multi = {}
    for r in s.records:
        for inst in r.instances:
            mask = inst.decode()
            assert mask.shape == (r.height, r.width) and mask.any()
            assert inst.area == mask.sum()
        linked = r.linked_instances()
        assert [i.mask_name for i in linked] == [f"m{k:02d}" for k in range(len(linked))]
        ids = {p.phrase_id for p in r.colour_phrases}
        assert all(i.phrase_id in ids for i in linked)
        if len(linked) >= 2:
            multi[r.image_key] = r
            parts = r.instance_prompt.split(", ")
            assert len(parts) == len(linked) and all(p.startswith("the ") for p in parts)
    assert len(multi) >= 2
    assert (
        multi["demo_motorcycle"].instance_prompt
        == "the red motorcycle, the black seat, the gray floor"
    )


def _mean_lab(rgb, mask):
    from lcad_bench.imaging import srgb_to_lab

    lab = srgb_to_lab(rgb[mask]).mean(axis=0)
    return (
        lab[0],
        float(np.hypot(lab[1], lab[2])),
        float(np.degrees(np.arctan2(lab[2], lab[1])) % 360),
    )


def test_mask_colours_match_the_named_colours():
    from lcad_bench.builders.demo import demo_spec, load_image, rasterise

    checked = 0
    for im in demo_spec()["images"]:
        rgb = load_image(im["loader"])
        h, w = rgb.shape[:2]
        for inst in im["instances"]:
            L, C, H = _mean_lab(rgb, rasterise(inst, h, w))
            chromatic = [c for c in inst["check"] if c in HUE_FAMILIES]
            what = f"{im['key']}: {inst['colour']} {inst['category']} (L {L:.1f}, C {C:.1f}, h {H:.1f})"
            if chromatic:
                assert C >= 5.0, what
                assert any(lo <= H <= hi for c in chromatic for lo, hi in HUE_FAMILIES[c]), what
            else:
                lo, hi = ACHROMATIC[inst["check"][0]]
                assert C < 30 and lo <= L <= hi, what
            checked += 1
    assert checked >= 16


def test_every_instance_is_linked_by_some_caption(demo):
    out, _ = demo
    s = load_split(out)
    linked = {(r.image_key, i.instance_id) for r in s.records for i in r.linked_instances()}
    every = {(r.image_key, i.instance_id) for r in s.records for i in r.instances}
    assert linked == every


def test_cli_no_embed(tmp_path, cli, capsys):
    out = tmp_path / "d"
    assert cli(["build", "demo", "--out", str(out), "--no-embed-images", "-q"]) == 0
    assert "natural levels:" in capsys.readouterr().out
    s = load_split(out)
    r = s.records[0]
    assert Image.open(s.image_file(r)).mode == "RGB"
    assert r.image_bytes is None and s.image_file(r).is_file()
    assert np.asarray(s.load_image(r)).shape == (r.height, r.width, 3)
    assert cli(["build", "demo", "--out", str(out), "-q"]) == 2  # exists, no --overwrite


def test_rebuild_gives_the_same_content_hash(demo, tmp_path):
    from lcad_bench.builders.demo import build_demo

    _, m = demo
    assert build_demo(tmp_path / "again").content_hash == m.content_hash


def test_instance_prompt_follows_the_protocol_rule(extractor):
    """docs/protocol.md#multi-instance: canonical colour names, `ish` dropped, object
    lower-cased; the demo had its own rule ("the ish reddish Motorcycle")."""
    from lcad_bench.builders.demo import build_records, demo_spec

    spec = demo_spec()
    (im,) = [dict(i) for i in spec["images"] if i["key"] == "demo_motorcycle"]
    im["captions"] = ["A reddish Motorcycle with a greyish seat"]
    (r,) = build_records({**spec, "images": [im]}, extractor)[0]
    assert r.instance_prompt == "the red motorcycle, the gray seat"
