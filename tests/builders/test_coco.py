"""coco-stuff and multi-instance builders: real COCO sample (independent expectations) and bad input."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lcad_bench.cli import main
from lcad_bench.errors import ExitCode
from lcad_bench.splits import load_split


def lexicon_words(kinds=("basic", "extended")):
    """Colour words straight from the TSV (independent of the lexicon module)."""
    text = (files("lcad_bench") / "resources" / "colour_lexicon.tsv").read_text()
    rows = csv.DictReader(
        [ln for ln in text.splitlines() if not ln.startswith("#")], delimiter="\t"
    )
    return {r["name"] for r in rows if r["kind"] in kinds and " " not in r["name"]}


@pytest.fixture(scope="module")
def coco_mini(shared_data):
    root = shared_data / "coco-mini"
    return (
        root / "annotations/captions_train2017.json",
        root / "annotations/instances_train2017.json",
        root / "train2017",
    )


@pytest.fixture(scope="module")
def built(coco_mini, tmp_path_factory):
    from lcad_bench.builders.coco import build_coco

    out = tmp_path_factory.mktemp("coco")
    cap, inst, img = coco_mini
    cs = build_coco("coco-stuff", cap, inst, img, out / "cs", quiet=True)
    mi = build_coco("multi-instance", cap, inst, img, out / "mi", quiet=True)
    return out, cs, mi


def test_coco_stuff_counts_match_independent_regex(coco_mini, built):
    out, cs, _ = built
    cap = json.loads(coco_mini[0].read_text())
    hue = lexicon_words()
    word = re.compile(r"[a-z]+")
    with_hue = [a for a in cap["annotations"] if set(word.findall(a["caption"].lower())) & hue]
    assert cs.counts["captions_read"] == len(cap["annotations"]) == 400
    recs = load_split(out / "cs").records
    assert len(recs) == cs.counts["pairs"]
    # every kept caption holds a hue word, and the parser keeps most of the regex hits
    # (the rest are noun uses such as "an orange", stop phrases, or "black and white photo")
    assert all(set(word.findall(r.caption.lower())) & hue for r in recs)
    assert 0.80 * len(with_hue) <= len(recs) <= len(with_hue), (len(recs), len(with_hue))
    # pair ids: k is the caption's index among its image's captions sorted by annotation id
    by_img = defaultdict(list)
    for a in cap["annotations"]:
        by_img[a["image_id"]].append((a["id"], a["caption"]))
    for r in recs:
        k = int(r.pair_id.split("#")[1])
        assert sorted(by_img[int(r.image_id)])[k][1] == r.caption
        assert r.pair_id.startswith(Path(r.image_path).stem)


def test_masks_equal_pycocotools_annToMask(coco_mini, built):
    from pycocotools.coco import COCO

    out, _, _ = built
    coco = COCO(str(coco_mini[1]))
    recs = load_split(out / "cs").records
    checked = 0
    for r in recs:
        for inst in r.instances:
            ref = coco.annToMask(coco.anns[inst.instance_id]).astype(bool)
            assert np.array_equal(inst.decode(), ref), inst.instance_id
            checked += 1
    assert checked > 100


def test_links_follow_the_documented_rule(coco_mini, built):
    out, _, _ = built
    inst = json.loads(coco_mini[1].read_text())
    cats = {c["id"]: c["name"] for c in inst["categories"]}
    imgs = {i["id"]: i for i in inst["images"]}
    recs = load_split(out / "cs").records
    n_links = 0
    for r in recs:
        area = imgs[int(r.image_id)]["width"] * imgs[int(r.image_id)]["height"]
        for i in r.instances:
            if i.link in ("unique", "largest"):
                n_links += 1
                same = [
                    a
                    for a in inst["annotations"]
                    if a["image_id"] == int(r.image_id)
                    and cats[a["category_id"]] == i.category
                    and not a["iscrowd"]
                    and a["area"] >= 0.01 * area
                ]
                assert max(a["area"] for a in same) == i.area
                assert (i.link == "unique") == (len(same) == 1)
    assert n_links >= 20


def test_multi_instance_prompts(built):
    out, _, mi = built
    recs = load_split(out / "mi").records
    assert len(recs) == mi.counts["pairs"] >= 1
    for r in recs:
        masks = r.linked_instances()
        phrases = r.instance_prompt.split(", ")
        assert len(phrases) == len(masks) >= 2
        assert [m.mask_name for m in masks] == [f"m{j:02d}" for j in range(len(masks))]
        assert len({m.instance_id for m in masks}) == len(masks)
        assert all(p.startswith("the ") and "," not in p for p in phrases)
        assert r.descriptions["sparse"].count(",") == len(masks) - 1


def test_rebuild_same_content_hash_and_datasets(coco_mini, built, tmp_path):
    import datasets
    from lcad_bench.builders.coco import build_coco

    out, cs, _ = built
    again = build_coco("coco-stuff", *coco_mini, tmp_path / "again", quiet=True)
    assert again.content_hash == cs.content_hash
    for s in (*(out / "cs" / "data").iterdir(),):  # byte-identical shards
        assert (tmp_path / "again" / "data" / s.name).read_bytes() == s.read_bytes()
    # docs/building.md#split-format: only created_at and the stage timing differ
    a, b = (json.loads((d / "manifest.json").read_text()) for d in (out / "cs", tmp_path / "again"))
    for m in (a, b):
        del m["created_at"], m["counts"]["caption_stage_seconds"]
    assert a == b
    ds = datasets.load_dataset(str(out / "cs"), split="test", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == cs.counts["pairs"]


# ---------------------------------------------------------------------------------------------
# bad input on a tiny synthetic COCO


def _tiny_coco(root: Path, n=3):
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    images, anns, caps = [], [], []
    for i in range(1, n + 1):
        arr = np.zeros((40, 60, 3), np.uint8)
        arr[..., 1] = 90
        arr[5:30, 10:40] = (220, 30, 30)  # a red car
        arr += rng.integers(0, 10, arr.shape, dtype=np.uint8)
        Image.fromarray(arr).save(root / "images" / f"{i:012d}.jpg", quality=95)
        images.append({"id": i, "file_name": f"{i:012d}.jpg", "width": 60, "height": 40})
        anns.append(
            {
                "id": 100 + i,
                "image_id": i,
                "category_id": 3,
                "iscrowd": 0,
                "area": 750.0,
                "bbox": [10, 5, 30, 25],
                "segmentation": [[10, 5, 40, 5, 40, 30, 10, 30]],
            }
        )
        caps.append({"id": 200 + i, "image_id": i, "caption": "a red car parked on the grass"})
        caps.append({"id": 300 + i, "image_id": i, "caption": "a car on a lawn"})
    cats = [{"id": 3, "name": "car", "supercategory": "vehicle"}]
    (root / "captions.json").write_text(json.dumps({"images": images, "annotations": caps}))
    (root / "instances.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats})
    )
    return root


def _build(root, out, *extra):
    return main(
        [
            "build",
            "coco-stuff",
            "--captions",
            str(root / "captions.json"),
            "--instances",
            str(root / "instances.json"),
            "--images",
            str(root / "images"),
            "--out",
            str(out),
            "-q",
            *extra,
        ]
    )


def test_tiny_build_ok(tmp_path):
    root = _tiny_coco(tmp_path / "c")
    assert _build(root, tmp_path / "out") == 0
    recs = load_split(tmp_path / "out").records
    assert [r.pair_id for r in recs] == ["000000000001#0", "000000000002#0", "000000000003#0"]
    assert all(r.linked_instances()[0].link == "unique" for r in recs)
    assert (
        recs[0].natural_level == "complete"
        and recs[0].descriptions["sparse"] == "a car parked on the grass"
    )


def _mutate(root, fn):
    data = json.loads((root / fn[0]).read_text())
    fn[1](data)
    (root / fn[0]).write_text(json.dumps(data))


def _add_caption(ann):
    return lambda root: _mutate(root, ("captions.json", lambda d: d["annotations"].append(ann)))


BAD_CASES = {
    "missing image file": (
        lambda root: (root / "images" / "000000000002.jpg").unlink(),
        "missing image",
    ),
    "caption for unknown image": (
        _add_caption({"id": 999, "image_id": 77, "caption": "a blue bus"}),
        "caption for unknown image",
    ),
    "duplicate caption id": (
        _add_caption({"id": 201, "image_id": 1, "caption": "a green bus"}),
        "duplicate id",
    ),
    "caption without text": (
        _add_caption({"id": 998, "image_id": 1}),
        "malformed caption annotation",
    ),
    "CMYK image": (
        lambda root: Image.new("CMYK", (60, 40), (0, 255, 255, 0)).save(
            root / "images/000000000002.jpg"
        ),
        "non-RGB image",
    ),
    "16-bit image": (
        lambda root: _save_as(root, Image.new("I;16", (60, 40), 300)),
        "non-RGB image",
    ),
    "palette image": (
        lambda root: _save_as(root, Image.new("RGB", (60, 40), (200, 0, 0)).convert("P")),
        "non-RGB image",
    ),
    "RGBA image": (
        lambda root: _save_as(root, Image.new("RGBA", (60, 40), (200, 0, 0, 255))),
        "non-RGB image",
    ),
    "unreadable image": (
        lambda root: (root / "images/000000000002.jpg").write_bytes(b"not an image at all"),
        "unreadable image",
    ),
    "duplicate image id": (
        lambda root: _mutate(
            root, ("instances.json", lambda d: d["images"].append(dict(d["images"][0])))
        ),
        "duplicate id",
    ),
    # malformed items of the instances/captions files were ValueError/KeyError tracebacks
    "image width not a number": (
        lambda root: _mutate(root, ("instances.json", lambda d: d["images"][1].update(width="x"))),
        "malformed image entry",
    ),
    "category without id": (
        lambda root: _mutate(
            root, ("instances.json", lambda d: d["categories"].append({"name": "bus"}))
        ),
        "malformed category",
    ),
    "caption image_id not an integer": (
        _add_caption({"id": 997, "image_id": "x", "caption": "a blue bus"}),
        "malformed caption annotation",
    ),
    "caption image_id a fraction": (
        _add_caption({"id": 996, "image_id": 1.5, "caption": "a blue bus"}),
        "malformed caption annotation",
    ),
    "annotation category_id not an integer": (
        lambda root: _mutate(root, ("instances.json", lambda d: d["annotations"].append(
            {"id": 555, "image_id": 1, "category_id": "x", "segmentation": [[1, 1, 5, 1, 5, 5]]}
        ))),
        "malformed instance annotation",
    ),
    "unknown category": (
        lambda root: _mutate(root, ("instances.json", lambda d: d["annotations"].append(
            {"id": 556, "image_id": 1, "category_id": 99, "segmentation": [[1, 1, 5, 1, 5, 5]]}
        ))),
        "unknown category",
    ),
    # image paths that leave --images (the split's containment rule)
    "file_name climbing out with ..": (
        lambda root: _move_out(root, lambda f: "../outside/" + f.name),
        "image outside --images",
    ),
    "absolute file_name": (
        lambda root: _move_out(root, lambda f: str(f)),
        "image outside --images",
    ),
    "file_name a symlink out of --images": (
        lambda root: _move_out(root, None),
        "image outside --images",
    ),
}  # fmt: skip


def _move_out(root, name_of):
    """Move image 2 to ``root/outside/`` (a readable colourful image, so only the path is
    wrong) and name it by ``name_of(new path)`` in both files, or keep its name and leave a
    symlink to it in ``images/`` (``name_of`` None)."""
    src = root / "images" / "000000000002.jpg"
    dst = root / "outside" / src.name
    dst.parent.mkdir()
    src.rename(dst)
    if name_of is None:
        src.symlink_to(dst)
        return
    for fn in ("instances.json", "captions.json"):
        _mutate(root, (fn, lambda d: d["images"][1].update(file_name=name_of(dst))))


def _save_as(root, im):
    # keep the .jpg name the annotations use; PNG content is what PIL sniffs
    im.save(root / "images/000000000002.jpg", format="PNG")


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_item_skipped_and_counted_or_strict_stops(tmp_path, capsys, case):
    mutate, reason = BAD_CASES[case]
    root = _tiny_coco(tmp_path / "c")
    mutate(root)
    assert _build(root, tmp_path / "strict", "--strict") == ExitCode.VERIFY
    err = capsys.readouterr().err
    assert reason in err and "--strict" in err and "Traceback" not in err
    assert not (tmp_path / "strict").exists()
    assert _build(root, tmp_path / "ok") == 0
    m = json.loads((tmp_path / "ok" / "manifest.json").read_text())
    assert m["counts"]["excluded_by_reason"].get(reason, 0) >= 1
    assert any(reason == e["reason"] for e in m["exclusions"])


@pytest.mark.parametrize(
    "content,needle",
    [
        ('{"annotations": [', "truncated"),
        ("{]", "malformed JSON"),
        ('{"images": []}', "missing key 'annotations'"),
    ],
)
def test_malformed_json_is_a_clear_error(tmp_path, capsys, content, needle):
    root = _tiny_coco(tmp_path / "c")
    (root / "captions.json").write_text(content)
    assert _build(root, tmp_path / "o") in (ExitCode.VERIFY,)
    err = capsys.readouterr().err
    assert needle in err and "captions.json" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_missing_inputs(tmp_path, capsys):
    root = _tiny_coco(tmp_path / "c")
    (root / "instances.json").unlink()
    assert _build(root, tmp_path / "o") == ExitCode.MISSING
    assert "instances.json: no such file" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["images", "annotations", "categories"])
def test_instances_key_that_is_not_an_array_is_a_clear_error(tmp_path, capsys, key):
    root = _tiny_coco(tmp_path / "c")
    _mutate(root, ("instances.json", lambda d: d.update({key: {"1": d[key][0]}})))
    assert _build(root, tmp_path / "o") == ExitCode.VERIFY
    err = capsys.readouterr().err
    assert f"instances.json: {key!r} is a dict, expected a JSON array" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_stuff_annotation_sharing_an_instance_id_is_skipped_not_swapped(tmp_path):
    """Masks are keyed by annotation id per image: a stuff segment with the id of the image's
    car replaced the car's mask by its own, silently."""
    root = _tiny_coco(tmp_path / "c")
    stuff = {
        "categories": [{"id": 171, "name": "wall-brick"}],
        "annotations": [{"id": 101, "image_id": 1, "category_id": 171, "iscrowd": 0, "area": 100.0,
                         "bbox": [0, 0, 10, 10], "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]]}],
    }  # fmt: skip
    (root / "stuff.json").write_text(json.dumps(stuff))
    assert _build(root, tmp_path / "o", "--stuff", str(root / "stuff.json")) == 0
    s = load_split(tmp_path / "o")
    assert [(e.item, e.reason) for e in s.manifest.exclusions] == [
        ("stuff.json: annotation id 101", "duplicate id")
    ]
    car = s.records[0].instances[0]
    assert car.instance_id == 101 and car.category == "car"
    assert car.decode()[5:30, 10:40].all() and car.decode().sum() == 25 * 30


def test_achromatic_threshold_has_one_owner():
    """The exclusion detail quotes the protocol constant, not a second hard-coded 6."""
    import inspect

    import lcad_bench.builders.coco as coco

    from lcad_bench import protocol

    assert coco.ACHROMATIC_P99 is protocol.ACHROMATIC_P99
    assert "< 6" not in inspect.getsource(coco.build_coco)
