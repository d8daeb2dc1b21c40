"""Linking colour phrases to instance masks and choosing multi-instance phrases
(docs/protocol.md#extended-coco-stuff, #multi-instance, #combining-captions)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from lcad_bench.builders.coco import (
    AnnInfo,
    build_coco,
    link_phrases,
    select_instance_phrases,
)
from PIL import Image

from lcad_bench.splits import load_split


def ann(i, cat, area, stuff=False):
    return AnnInfo(i, i, cat, (0.0, 0.0, 1.0, 1.0), float(area), False, [], stuff)


def links(extractor, text, eligible, stuff=None):
    a = extractor.analyse(text)
    out = link_phrases(a.hue_phrases, eligible, stuff)
    return {
        f"{'+'.join(p.canonical)}>{p.object.head.lower()}": (
            out[p.phrase_id][0],
            sorted(x.id for x in out[p.phrase_id][1]),
        )
        if p.phrase_id in out
        else None
        for p in a.hue_phrases
    }


PERSON = {"person": [ann(1, "person", 900)], "elephant": [ann(2, "elephant", 5000)]}
CLOTHES = {"clothes": [ann(90, "clothes", 300, stuff=True)]}


def test_garments_never_link_the_wearer(extractor):
    text = "A smiling man in green next to a large elephant."
    assert links(extractor, text, PERSON) == {"green>man": None}
    assert links(extractor, text, PERSON, CLOTHES) == {"green>man": ("stuff", [90])}
    text = "A tennis player wearing all white reaches hi racket up to a ball."
    assert links(extractor, text, PERSON) == {"white>player": None}
    # a named garment: the garment, never the person
    assert links(extractor, "a man in a red shirt", PERSON) == {"red>shirt": None}
    assert links(extractor, "a man in a red shirt", PERSON, CLOTHES) == {
        "red>shirt": ("stuff", [90])
    }
    # a garment that is a COCO category links its instance
    tie = {**PERSON, "tie": [ann(3, "tie", 200)]}
    assert links(extractor, "a man with a red tie", tie) == {"red>tie": ("unique", [3])}


def test_parts_and_hair_never_link_the_whole(extractor):
    bus = {"bus": [ann(5, "bus", 9000)]}
    text = "Articulated bus, first part is red, back part is grey, on dull red street."
    got = links(extractor, text, bus)
    assert got["red>part"] is None and got["gray>part"] is None
    assert links(extractor, "the bus with a red roof", bus) == {"red>roof": None}
    assert links(extractor, "A little blonde girl standing in front of a fridge.", PERSON) == {
        "blond>girl": None
    }


def test_plural_links_the_group_singular_the_largest(extractor):
    horses = {"horse": [ann(10, "horse", 500), ann(11, "horse", 800)]}
    assert links(extractor, "two white horses in a field", horses) == {
        "white>horses": ("group", [10, 11])
    }
    assert links(extractor, "a white horse in a field", horses) == {
        "white>horse": ("largest", [11])
    }
    sheep = {"sheep": [ann(20, "sheep", 900), ann(21, "sheep", 300)]}
    got = links(extractor, "A large white sheep next to a small black one", sheep)
    assert got == {"white>sheep": ("largest", [20]), "black>one": ("largest", [20])}


def chosen(extractor, captions, eligible, stuff=None):
    caps = [(k, t, extractor.analyse(t)) for k, t in enumerate(captions)]
    ch, conflicts = select_instance_phrases(caps, eligible, stuff)
    return [
        (c.k, "+".join(c.phrase.canonical), sorted(i.id for i in c.insts)) for c in ch
    ], conflicts


def test_multi_instance_combines_captions_with_disjoint_instances(extractor):
    el = {"car": [ann(1, "car", 900)], "truck": [ann(2, "truck", 900)]}
    got = chosen(extractor, ["a red car parked next to a house", "a blue truck on a road"], el)
    assert got == ([(0, "red", [1]), (1, "blue", [2])], 0)
    # the anchor is the caption with most disjoint phrases
    got = chosen(extractor, ["a red car on a road", "a red car next to a white truck"], el)
    assert got == ([(1, "red", [1]), (1, "white", [2])], 0)


def test_multi_instance_conflicts_agreements_and_groups(extractor):
    el = {"car": [ann(1, "car", 900)], "truck": [ann(2, "truck", 900)]}
    # two captions disagree on the only car: neither colour is sure, both leave
    got = chosen(extractor, ["a red car and a white truck", "a blue car on the road"], el)
    assert got == ([(0, "white", [2])], 1)
    # agreement keeps the first
    got = chosen(extractor, ["a red car and a white truck", "a red car on the road"], el)
    assert got == ([(0, "red", [1]), (0, "white", [2])], 0)
    horses = {"horse": [ann(10, "horse", 500), ann(11, "horse", 800)], "dog": [ann(12, "dog", 90)]}
    got = chosen(extractor, ["two white horses and a brown dog"], horses)
    assert got == ([(0, "white", [10, 11]), (0, "brown", [12])], 0)
    # overlapping sets: the later phrase leaves
    got = chosen(extractor, ["a white horse and a brown dog", "white horses in a field"], horses)
    assert got == ([(0, "white", [11]), (0, "brown", [12])], 0)
    # garments never reach a prompt ("the green man")
    people = {"person": [ann(1, "person", 900)], "elephant": [ann(2, "elephant", 900)]}
    got = chosen(extractor, ["a man in green next to a gray elephant"], people)
    assert got == ([(0, "gray", [2])], 0)


def _two_object_coco(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(1)
    images, anns, caps = [], [], []
    for i in (1, 2):
        arr = np.zeros((40, 60, 3), np.uint8)
        arr[..., 1] = 90
        arr[5:20, 5:25] = (220, 30, 30)
        arr[22:38, 30:58] = (30, 30, 220)
        arr += rng.integers(0, 10, arr.shape, dtype=np.uint8)
        Image.fromarray(arr).save(root / "images" / f"{i:012d}.png")
        images.append({"id": i, "file_name": f"{i:012d}.png", "width": 60, "height": 40})
        anns.append(
            {
                "id": 100 + i,
                "image_id": i,
                "category_id": 3,
                "iscrowd": 0,
                "area": 300.0,
                "bbox": [5, 5, 20, 15],
                "segmentation": [[5, 5, 25, 5, 25, 20, 5, 20]],
            }
        )
        anns.append(
            {
                "id": 200 + i,
                "image_id": i,
                "category_id": 8,
                "iscrowd": 0,
                "area": 448.0,
                "bbox": [30, 22, 28, 16],
                "segmentation": [[30, 22, 58, 22, 58, 38, 30, 38]],
            }
        )
        caps.append({"id": 300 + i, "image_id": i, "caption": "a red car parked on the grass"})
        caps.append({"id": 400 + i, "image_id": i, "caption": "a blue truck next to a car"})
        caps.append({"id": 500 + i, "image_id": i, "caption": "two vehicles on a lawn"})
    cats = [{"id": 3, "name": "car"}, {"id": 8, "name": "truck"}]
    (root / "captions.json").write_text(json.dumps({"images": images, "annotations": caps}))
    (root / "instances.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats})
    )
    return root


@pytest.fixture
def mi_build(tmp_path):
    root = _two_object_coco(tmp_path / "c")
    args = (root / "captions.json", root / "instances.json", root / "images")
    m = build_coco("multi-instance", *args, tmp_path / "mi", quiet=True)
    again = build_coco("multi-instance", *args, tmp_path / "mi2", quiet=True)
    return m, again, load_split(tmp_path / "mi").records


def test_multi_instance_record_from_two_captions(mi_build):
    m, again, recs = mi_build
    assert again.content_hash == m.content_hash  # rebuilding gives the same content
    assert [r.pair_id for r in recs] == ["000000000001#0", "000000000002#0"]
    r = recs[0]
    assert r.instance_prompt == "the red car, the blue truck"
    assert [(i.category, i.mask_name, i.phrase_id) for i in r.linked_instances()] == [
        ("car", "m00", 0),
        ("truck", "m01", 1),
    ]
    assert [p.phrase_id for p in r.colour_phrases] == [0, 1]
    assert [s["caption_index"] for s in r.extra["phrase_sources"]] == [0, 1]
    assert r.extra["captions_combined"] == 2
    assert r.descriptions["sparse"] == "the car, the truck"
    c = m.counts
    assert c["multi_instance_records"] == 2 and c["images_with_captions"] == 2
    assert c["multi_instance_yield_per_1000_images"] == 1000.0
    assert c["multi_instance_records_combining_captions"] == 2
    assert c["multi_instance_yield_per_1000_images_one_caption"] == 0.0
