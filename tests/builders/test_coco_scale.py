"""Full-scale COCO builds: the image stage in worker processes gives the same split as one
worker; the instances JSON is streamed (values equal json.loads, errors name line and column)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from lcad_bench.builders import jsonstream
from lcad_bench.builders.coco import build_coco
from lcad_bench.builders.coco_images import read_instances
from PIL import Image

from lcad_bench.cli import main
from lcad_bench.errors import ExitCode, InputFormatError
from lcad_bench.splits import load_split


def _synthetic_coco(root, n=12):
    """n images with a red car each; bad items: a missing file, a size mismatch, a gray image
    (achromatic), a malformed segmentation; RLE and polygon segmentations."""
    from pycocotools import mask as mask_utils

    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(1)
    images, anns, caps = [], [], []
    for i in range(1, n + 1):
        h, w = 40 + i, 60
        arr = np.zeros((h, w, 3), np.uint8)
        arr[..., 1] = 90
        arr[5:30, 10:40] = (220, 30, 30)
        arr += rng.integers(0, 10, arr.shape, dtype=np.uint8)
        if i == 4:
            arr[...] = arr.mean(2, keepdims=True).astype(np.uint8)  # achromatic
        if i != 2:  # image 2 is missing
            Image.fromarray(arr).save(root / "images" / f"{i:012d}.png")
        images.append(
            {"id": i, "file_name": f"{i:012d}.png", "width": w if i != 3 else w + 1, "height": h}
        )
        seg = [[10.5, 5.25, 40.0, 5.0, 40.0, 30.75, 10.0, 30.0]]
        if i % 3 == 0:
            m = np.zeros((h, w), np.uint8)
            m[5:30, 10:40] = 1
            r = mask_utils.encode(np.asfortranarray(m))
            seg = {"size": [h, w], "counts": r["counts"].decode("ascii")}
        if i == 5:
            seg = {"size": [h, w]}  # malformed: no counts
        anns.append({"id": 100 + i, "image_id": i, "category_id": 3, "iscrowd": 0, "area": 750.0,
                     "bbox": [10, 5, 30, 25], "segmentation": seg})  # fmt: skip
        anns.append({"id": 500 + i, "image_id": i, "category_id": 3, "iscrowd": 0, "area": 30.0,
                     "bbox": [1, 1, 5, 5], "segmentation": [[1, 1, 6, 1, 6, 6, 1, 6]]})  # fmt: skip
        caps.append(
            {"id": 200 + i, "image_id": i, "caption": "a red car parked on the green grass"}
        )
        anns.append({"id": 700 + i, "image_id": i, "category_id": 8, "iscrowd": 0, "area": 400.0,
                     "bbox": [40, 20, 20, 20], "segmentation": [[40, 20, 60, 20, 60, 40, 40, 40]]})  # fmt: skip
        caps.append({"id": 300 + i, "image_id": i, "caption": "a red car next to a blue truck"})
        caps.append({"id": 400 + i, "image_id": i, "caption": "two blue cars near a yellow wall"})
    cats = [
        {"id": 3, "name": "car", "supercategory": "vehicle"},
        {"id": 8, "name": "truck", "supercategory": "vehicle"},
    ]
    (root / "captions.json").write_text(json.dumps({"images": images, "annotations": caps}))
    (root / "instances.json").write_text(
        json.dumps({"info": {}, "images": images, "annotations": anns, "categories": cats})
    )
    return root


@pytest.mark.parametrize("kind", ["coco-stuff", "multi-instance"])
def test_workers_give_the_same_split(tmp_path, kind):
    root = _synthetic_coco(tmp_path / "c")
    args = (kind, root / "captions.json", root / "instances.json", root / "images")
    one = build_coco(*args, tmp_path / "one", quiet=True, workers=1, embed_images=True)
    two = build_coco(*args, tmp_path / "two", quiet=True, workers=2, embed_images=True)
    assert one.content_hash == two.content_hash and one.counts["pairs"] > 0
    assert one.exclusions == two.exclusions and one.review == two.review
    reasons = {e.reason for e in one.exclusions}
    assert {"missing image", "size mismatch", "achromatic ground truth"} <= reasons
    if kind == "coco-stuff":
        assert "malformed segmentation" in reasons
    a, b = load_split(tmp_path / "one").records, load_split(tmp_path / "two").records
    assert [r.to_row() for r in a] == [r.to_row() for r in b]


def test_strict_stops_inside_the_worker_stage(tmp_path, capsys):
    root = _synthetic_coco(tmp_path / "c")
    code = main(["build", "coco-stuff", "--captions", str(root / "captions.json"), "--instances",
                 str(root / "instances.json"), "--images", str(root / "images"), "--out", str(tmp_path / "o"),
                 "--workers", "2", "--strict", "-q"])  # fmt: skip
    assert code == ExitCode.VERIFY and "missing image" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    code = main(["build", "coco-stuff", "--captions", str(root / "captions.json"), "--instances",
                 str(root / "instances.json"), "--images", str(root / "images"), "--out", str(tmp_path / "o"),
                 "--workers", "0", "-q"])  # fmt: skip
    assert code == ExitCode.USAGE and "--workers 0" in capsys.readouterr().err


def test_coco_mini_with_two_workers_equals_one(shared_data, tmp_path):
    mini = shared_data / "coco-mini"
    args = (mini / "annotations/captions_train2017.json", mini / "annotations/instances_train2017.json",
            mini / "train2017")  # fmt: skip
    one = build_coco("coco-stuff", *args, tmp_path / "one", quiet=True, workers=1)
    two = build_coco("coco-stuff", *args, tmp_path / "two", quiet=True, workers=2)
    assert one.content_hash == two.content_hash and one.counts["pairs"] > 50


# ---------------------------------------------------------------------------------------------
# streaming JSON


def _doc(seed):
    rnd = random.Random(seed)

    def val(depth):
        kind = rnd.choice("nfsbla" if depth < 3 else "nfsb")
        if kind == "n":
            return rnd.randint(-(10**12), 10**12)
        if kind == "f":
            return rnd.choice([rnd.uniform(-1e6, 1e6), 1e-300, -0.0, 123456789.123456789])
        if kind == "s":
            return "".join(rnd.choice('ab"\\\n\u00e9\u4e2d ') for _ in range(rnd.randint(0, 12)))
        if kind == "b":
            return rnd.choice([True, False, None])
        if kind == "l":
            return [val(depth + 1) for _ in range(rnd.randint(0, 4))]
        return {f"k{j}": val(depth + 1) for j in range(rnd.randint(0, 4))}

    return {"info": val(0), "images": [val(1) for _ in range(30)], "annotations": [val(1) for _ in range(40)],
            "categories": [], "tail": 3.5}  # fmt: skip


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 22])
def test_stream_equals_json_loads(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", chunk)
    for seed in range(4):
        doc = _doc(seed)
        p = tmp_path / f"d{seed}.json"
        p.write_text(
            json.dumps(doc, indent=seed % 2 or None, ensure_ascii=seed < 2), encoding="utf-8"
        )
        got = jsonstream.read_json_object(p, "test", stream=("images", "annotations"))
        assert got == json.loads(p.read_text(encoding="utf-8"))
    # polygons become float64 arrays holding exactly the decoded doubles
    p = tmp_path / "inst.json"
    poly = [[0.1, 2.0000000000000004, 1e-7, 5, 3.3, 4.4]]
    anns = [{"id": 1, "image_id": 2, "category_id": 3, "bbox": [1, 2, 3, 4], "segmentation": poly},
            {"id": 2, "segmentation": poly}]  # fmt: skip
    p.write_text(json.dumps({"images": [], "annotations": anns, "categories": []}))
    got = read_instances(p, "t")["annotations"]
    seg = got[0].segmentation
    assert (got[0].id, got[0].image_id, got[0].category_id, got[0].bbox) == (
        1,
        2,
        3,
        (1.0, 2.0, 3.0, 4.0),
    )
    assert got[1] == anns[1]  # malformed (no image_id): left as decoded for the builder to report
    assert seg[0].dtype == np.float64 and seg[0].tolist() == json.loads(json.dumps(poly))[0]


@pytest.mark.parametrize(
    "text,line,needle",
    [
        ('{"images": [{"id": 1}, {"id": 2}', 1, "truncated"),
        ('{"images": [{"id": 1},\n {"id": 2] }', 2, "malformed JSON at line 2"),
        ('{"images": []}\n{"x": 1}', 2, "Extra data"),
        ("", 1, "truncated"),
    ],
)
def test_stream_errors_name_line_and_column(tmp_path, monkeypatch, text, line, needle):
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", 3)
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(InputFormatError) as ei:
        jsonstream.read_json_object(p, "a test file", stream=("images",))
    msg = str(ei.value)
    assert needle in msg and f"line {line}" in msg and "bad.json" in msg and "(a test file)" in msg
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:  # same line and column as the standard parser
        assert f"line {exc.lineno}, column {exc.colno}" in msg


@pytest.mark.parametrize(
    "content,needle",
    [
        ('{"annotations": [', "truncated"),
        ("{]", "malformed JSON"),
        ('{"images": [], "categories": []}', "missing key 'annotations'"),
    ],
)
def test_instances_file_errors(tmp_path, capsys, content, needle):
    root = _synthetic_coco(tmp_path / "c", n=2)
    (root / "instances.json").write_text(content)
    code = main(["build", "coco-stuff", "--captions", str(root / "captions.json"), "--instances",
                 str(root / "instances.json"), "--images", str(root / "images"), "--out", str(tmp_path / "o"), "-q"])  # fmt: skip
    err = capsys.readouterr().err
    assert (
        code == ExitCode.VERIFY
        and needle in err
        and "instances.json" in err
        and "Traceback" not in err
    )
