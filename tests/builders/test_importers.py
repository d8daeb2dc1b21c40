"""``lcad-bench build import``: each published format on tiny manifests, missing images, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lcad_bench.splits import load_split


def _write(path, obj):
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def _run(cli, fmt, manifest, images, out, *extra):
    return cli(
        [
            "build",
            "import",
            "--format",
            fmt,
            "--manifest",
            str(manifest),
            "--images",
            str(images),
            "--out",
            str(out),
            "-q",
            *extra,
        ]
    )


def test_coco_lc_extended(tmp_path, cli, save_png):
    root = tmp_path / "val2017"
    save_png(root / "000000414340.jpg", 1)
    save_png(root / "000000000139.jpg", 2)
    man = _write(tmp_path / "Extended_COCO_Stuff.json", {
        "000000414340.jpg_0": "A red bus next to a blue truck.",
        "000000414340.jpg_2": "a bus on a street",
        "000000000139.jpg_0": "a living room with a green couch",
        "000000999999.jpg_1": "a white dog",  # image missing
    })  # fmt: skip
    out = tmp_path / "s"
    assert _run(cli, "coco-lc-extended", man, root, out) == 0
    s = load_split(out)
    assert [r.pair_id for r in s.records] == ["000000000139#0", "000000414340#0", "000000414340#2"]
    r = s.records[1]
    assert r.caption == "A red bus next to a blue truck." and r.caption_index == 0  # verbatim
    assert [p.terms for p in r.colour_phrases] == [("red",), ("blue",)]
    assert r.natural_level == "complete" and r.descriptions["sparse"] == "A bus next to a truck."
    assert r.descriptions["partial"] is not None and r.partial_kept_phrase_ids
    assert s.records[2].natural_level == "sparse"
    assert s.image_file(r).is_file()
    c = s.manifest.counts
    assert (
        c["missing_images"] == 1
        and c["missing_pairs"] == 1
        and c["missing_images_by_source"] == {"coco": 1}
    )
    assert c["matches_published"] is False and c["manifest_sha256"] == s.manifest.inputs[0].sha256
    assert [e.reason for e in s.manifest.exclusions] == ["missing image"]
    assert s.manifest.spacy["name"] and s.manifest.lexicon_version and s.manifest.rules_version
    # strict: the missing image stops the build, nothing written
    assert _run(cli, "coco-lc-extended", man, root, tmp_path / "strict", "--strict") == 4
    assert not (tmp_path / "strict").exists()


def test_coco_lc_multi_sources(tmp_path, cli, save_png):
    root = tmp_path / "imgs"
    save_png(root / "000000317935.jpg", 1)  # coco_<id>.jpg -> <id>.jpg
    save_png(root / "vg" / "2345.jpg", 2)  # other sources under <source>/
    man = _write(tmp_path / "Multi-instances.json", {
        "coco_000000317935.jpg_0": "a red stop sign in front of a blue truck",
        "vg_2345.jpg_1": "a man in a yellow shirt holding a green umbrella",
        "GQA_77.jpg_0": "a black cat on a white sofa",
        "openimages_abc.jpg_0": "a pink flower",
    })  # fmt: skip
    out = tmp_path / "s"
    assert _run(cli, "coco-lc-multi", man, root, out) == 0
    s = load_split(out)
    assert [r.pair_id for r in s.records] == ["coco_000000317935#0", "vg_2345#1"]
    assert [r.image_path for r in s.records] == ["000000317935.jpg", "vg/2345.jpg"]
    assert [r.source for r in s.records] == ["coco", "vg"]
    assert s.manifest.counts["missing_images_by_source"] == {"GQA": 1, "openimages": 1}
    assert s.manifest.counts["missing_images"] == 2


def test_coco_lc_imagenet_blip_gt(tmp_path, cli, save_png):
    root = tmp_path / "val"
    save_png(root / "ILSVRC2012_val_00000001.JPEG", 1)
    save_png(root / "ILSVRC2012_val_00000002.JPEG", 2)
    man = _write(tmp_path / "ImageNetVal5k.json", {
        "ILSVRC2012_val_00000001.JPEG": "a snake on the ground",
        "ILSVRC2012_val_00000002.JPEG": "a brown dog sitting on green grass",
    })  # fmt: skip
    out = tmp_path / "s"
    assert _run(cli, "coco-lc-imagenet", man, root, out, "--embed-images") == 0
    s = load_split(out)
    assert [r.pair_id for r in s.records] == [
        "ILSVRC2012_val_00000001#0",
        "ILSVRC2012_val_00000002#0",
    ]
    assert all(r.source == "blip_gt" and "leaks_gt" in r.flags for r in s.records)
    assert s.records[1].image_bytes == (root / "ILSVRC2012_val_00000002.JPEG").read_bytes()
    assert (
        s.manifest.protocol["leaks_gt"] is True and s.manifest.split == "coco_lc_imagenet_blip_gt"
    )


def test_lcad_captions_and_datasets(tmp_path, cli, save_png):
    root = tmp_path / "val2017"
    save_png(root / "000000414340.jpg", 1)
    man = _write(
        tmp_path / "caption_val.json", {"000000414340.jpg": ["a red car", "", "a car on a road"]}
    )
    out = tmp_path / "s"
    assert _run(cli, "lcad-captions", man, root, out) == 0
    s = load_split(out)
    assert [(r.pair_id, r.natural_level) for r in s.records] == [
        ("000000414340#0", "complete"), ("000000414340#1", "none"), ("000000414340#2", "sparse")]  # fmt: skip
    import datasets

    ds = datasets.load_dataset(str(out), split="test", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == 3 and ds[0]["caption"] == "a red car"


def test_published_prefix_recorded(tmp_path, monkeypatch, save_png):
    from lcad_bench.builders import importers

    root = tmp_path / "val2017"
    save_png(root / "000000414340.jpg", 1)
    man = _write(tmp_path / "c.json", {"000000414340.jpg": ["a red car"]})
    from lcad_bench.fileio import file_sha256

    prefix = file_sha256(man)[:16]
    fmt = importers.FORMATS["lcad-captions"]
    monkeypatch.setitem(
        importers.FORMATS,
        "lcad-captions",
        importers.Format(**{**fmt.__dict__, "published": {prefix: "test copy"}}),
    )
    m = importers.build_import("lcad-captions", man, root, tmp_path / "s", quiet=True)
    assert m.counts["matches_published"] is True and m.counts["published_file"] == "test copy"


def test_instances_link_unique(tmp_path, save_png):
    from lcad_bench.builders.importers import build_import

    root = tmp_path / "val2017"
    save_png(root / "000000000001.jpg", 1)  # 40 x 60
    inst = {
        "images": [{"id": 1, "width": 60, "height": 40, "file_name": "000000000001.jpg"}],
        "categories": [{"id": 3, "name": "car"}, {"id": 8, "name": "truck"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 3, "bbox": [0, 0, 20, 20], "area": 400.0, "iscrowd": 0,
             "segmentation": [[0, 0, 20, 0, 20, 20, 0, 20]]},
            {"id": 11, "image_id": 1, "category_id": 8, "bbox": [30, 10, 20, 20], "area": 400.0, "iscrowd": 0,
             "segmentation": [[30, 10, 50, 10, 50, 30, 30, 30]]},
        ],
    }  # fmt: skip
    ipath = _write(tmp_path / "instances.json", inst)
    man = _write(tmp_path / "e.json", {"000000000001.jpg_0": "a red car next to a blue truck"})
    build_import("coco-lc-extended", man, root, tmp_path / "s", instances=ipath, quiet=True)
    r = load_split(tmp_path / "s").records[0]
    linked = r.linked_instances()
    assert [(i.category, i.mask_name, i.link, i.phrase_id) for i in linked] == [
        ("car", "m00", "unique", 0),
        ("truck", "m01", "unique", 1),
    ]
    assert linked[0].decode().shape == (40, 60) and linked[0].decode().sum() > 0
    assert r.extra["level_basis"] == "annotations"


@pytest.mark.parametrize(
    ("fmt", "content", "match"),
    [
        ("coco-lc-extended", '{"000000414340.jpg_0": "a red bus",', "malformed JSON"),
        (
            "coco-lc-extended",
            '{"414340.jpg_0": "a red bus"}',
            "'414340.jpg_0' does not match the coco-lc-extended key format '<12-digit id>.jpg_<k>'",
        ),
        ("coco-lc-multi", '{"000000317935.jpg_0": "a red bus"}', "'<source>_<file>.jpg_<k>'"),
        ("coco-lc-imagenet", '{"ILSVRC2012_val_1.JPEG": "a red bus"}', "ILSVRC2012_val_<8 digits>"),
        ("coco-lc-extended", '{"000000414340.jpg_0": 5}', "captions must be strings, got int"),
        (
            "lcad-captions",
            '{"000000414340.jpg": "a red bus"}',
            "expected a list of caption strings",
        ),
        (
            "lcad-captions",
            '{"000000414340.jpg": ["a red bus", null]}',
            "caption 1: captions must be strings",
        ),
        ("lcad-captions", '["a red bus"]', "expected a JSON object"),
    ],
)
def test_format_errors(tmp_path, cli, capsys, fmt, content, match):
    (tmp_path / "imgs").mkdir()
    man = tmp_path / "m.json"
    man.write_text(content)
    out = tmp_path / "s"
    assert _run(cli, fmt, man, tmp_path / "imgs", out) == 4
    assert match in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("case", ["cmyk", "16bit", "palette", "rgba", "unreadable", "duplicate"])
def test_bad_inputs_skipped_or_strict(tmp_path, cli, save_png, bad_images, case):
    root = tmp_path / "val2017"
    save_png(root / "000000000001.jpg", 1)
    caps = {"000000000001.jpg_0": "a red car", "000000000002.jpg_0": "a blue car"}
    if case == "duplicate":
        save_png(root / "000000000002.jpg", 2)
        text = json.dumps(caps)[:-1] + ', "000000000001.jpg_0": "a green car"}'
        reason = "duplicate id"
    else:
        bad_images[case](root / "000000000002.jpg")
        text = json.dumps(caps)
        reason = "unreadable image" if case == "unreadable" else "non-RGB image"
    man = tmp_path / "m.json"
    man.write_text(text)
    out = tmp_path / "s"
    assert _run(cli, "coco-lc-extended", man, root, out) == 0
    s = load_split(out)
    assert [e.reason for e in s.manifest.exclusions] == [reason]
    assert s.records[0].caption == "a red car"
    assert len(s.records) == (2 if case == "duplicate" else 1)
    assert _run(cli, "coco-lc-extended", man, root, tmp_path / "strict", "--strict") == 4
    assert not (tmp_path / "strict").exists()


def test_clip_truncation_flag(tmp_path, save_png):
    from lcad_bench.builders.importers import build_import

    root = tmp_path / "imgs"
    save_png(root / "vg" / "1.jpg", 1)
    long = " ".join(["a red car"] * 30)
    man = _write(tmp_path / "m.json", {"vg_1.jpg_0": long})
    m = build_import("coco-lc-multi", man, root, tmp_path / "s", quiet=True)
    assert m.counts["clip_truncated"] == 1
    assert "clip_truncated" in load_split(tmp_path / "s").records[0].flags
    assert np.isfinite(m.counts["pairs"])


def test_reimport_gives_the_same_content_hash_and_reviews_broken_texts(tmp_path, cli, save_png):
    root = tmp_path / "val2017"
    save_png(root / "000000414340.jpg", 1)
    man = _write(tmp_path / "Extended_COCO_Stuff.json", {
        "000000414340.jpg_0": "A red bus next to a blue truck.",
        "000000414340.jpg_1": "A blue a white plane flying through the air.",  # a typo
    })  # fmt: skip
    assert _run(cli, "coco-lc-extended", man, root, tmp_path / "a") == 0
    assert _run(cli, "coco-lc-extended", man, root, tmp_path / "b") == 0
    a, b = load_split(tmp_path / "a"), load_split(tmp_path / "b")
    assert a.manifest.content_hash == b.manifest.content_hash
    # published lists are kept whole: the pair stays, its broken sparse text is null, reviewed
    typo = a.records[1]
    assert typo.descriptions["sparse"] is None and "controlled_text_review" in typo.flags
    assert [r.item for r in a.manifest.review] == ["000000414340#1"]


# ---------------------------------------------------------------------------------------------
# --instances: the coco-stuff builder's reader and linker (one owner), bad items skipped


def _one_car(tmp_path, save_png, extra_anns=(), size=(60, 40)):
    """val2017/000000000001.jpg (40 x 60) with one car; the instances file (image ``size``)."""
    root = tmp_path / "val2017"
    save_png(root / "000000000001.jpg", 1)
    im = {"id": 1, "width": size[0], "height": size[1], "file_name": "000000000001.jpg"}
    inst = {
        "images": [im],
        "categories": [{"id": 3, "name": "car"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 3, "bbox": [0, 0, 20, 20], "area": 400.0,
             "iscrowd": 0, "segmentation": [[0, 0, 20, 0, 20, 20, 0, 20]]},
            *extra_anns,
        ],
    }  # fmt: skip
    return root, _write(tmp_path / "instances.json", inst), im


def test_shared_instance_has_the_same_owner_as_in_coco_stuff(tmp_path, save_png):
    """ "a red car ... a blue car" with one car: both links reach the car; coco-stuff gave it to
    the first phrase (red), ``build import --instances`` gave it to the last (blue)."""
    from lcad_bench.builders.coco import build_coco
    from lcad_bench.builders.importers import build_import

    caption = "a red car parked next to a blue car"
    root, ipath, im = _one_car(tmp_path, save_png)
    caps = _write(tmp_path / "captions.json", {
        "images": [im], "annotations": [{"id": 5, "image_id": 1, "caption": caption}],
    })  # fmt: skip
    build_coco("coco-stuff", caps, ipath, root, tmp_path / "cs", quiet=True, workers=1)
    man = _write(tmp_path / "e.json", {"000000000001.jpg_0": caption})
    build_import("coco-lc-extended", man, root, tmp_path / "imp", instances=ipath, quiet=True)
    (cs,) = load_split(tmp_path / "cs").records
    (imp,) = load_split(tmp_path / "imp").records

    def owners(r):
        return [(i.instance_id, i.phrase_id, i.link, i.mask_name) for i in r.instances]

    assert owners(cs) == owners(imp) == [(10, 0, "unique", "m00")]
    assert [p.canonical for p in imp.colour_phrases if p.phrase_id == 0] == [("red",)]


@pytest.mark.parametrize(
    ("ann", "reason"),
    [
        ({"id": 11, "image_id": 1, "category_id": 99, "segmentation": [[0, 0, 5, 0, 5, 5]]},
         "unknown category"),
        ({"id": 11, "image_id": 1, "category_id": 3, "segmentation": 5}, "malformed segmentation"),
        ({"id": 11, "image_id": 1, "category_id": 3, "segmentation": {"size": [40, 60]}},
         "malformed segmentation"),
        ({"id": 11, "image_id": 1, "category_id": "x", "segmentation": [[0, 0, 5, 0, 5, 5]]},
         "malformed instance annotation"),
        ({"id": 11, "image_id": 1, "segmentation": [[0, 0, 5, 0, 5, 5]]},
         "malformed instance annotation"),
    ],
)  # fmt: skip
def test_bad_instance_annotations_are_counted_skips(tmp_path, cli, capsys, save_png, ann, reason):
    """An unknown category_id or a malformed segmentation was a KeyError/TypeError traceback."""
    root, ipath, _ = _one_car(tmp_path, save_png, extra_anns=[ann])
    man = _write(tmp_path / "e.json", {"000000000001.jpg_0": "a red car on the road"})
    args = ("--instances", str(ipath))
    assert _run(cli, "coco-lc-extended", man, root, tmp_path / "s", *args) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    s = load_split(tmp_path / "s")
    assert [e.reason for e in s.manifest.exclusions] == [reason]
    assert s.manifest.exclusions[0].item in (
        "instances.json: annotation id 11", "annotation id 11 (image 1)", "instances.json: annotations[1]",
    )  # fmt: skip
    assert [(i.instance_id, i.mask_name) for i in s.records[0].instances] == [(10, "m00")]
    assert _run(cli, "coco-lc-extended", man, root, tmp_path / "strict", "--strict", *args) == 4
    assert reason in capsys.readouterr().err and not (tmp_path / "strict").exists()


def test_instances_of_another_size_are_a_counted_skip(tmp_path, cli, capsys, save_png):
    """Masks rasterised at the annotated size would not fit an image of another size."""
    root, ipath, _ = _one_car(tmp_path, save_png, size=(640, 480))
    save_png(root / "000000000002.jpg", 2)
    man = _write(tmp_path / "e.json", {
        "000000000001.jpg_0": "a red car on the road", "000000000002.jpg_0": "a blue car",
    })  # fmt: skip
    assert _run(cli, "coco-lc-extended", man, root, tmp_path / "s", "--instances", str(ipath)) == 0
    s = load_split(tmp_path / "s")
    assert [(e.item, e.reason) for e in s.manifest.exclusions] == [
        ("000000000001.jpg", "size mismatch")
    ]
    assert [r.pair_id for r in s.records] == ["000000000002#0"]


def test_two_files_under_one_image_key_are_refused_not_mixed(tmp_path, cli, save_png):
    """ "1.jpg" and "1.png" share image key "1": each record used to get its own path with the
    first file's sha256 (and here both pair ids were "1#0": the build failed at the end)."""
    root = tmp_path / "val2017"
    save_png(root / "000000000001.jpg", 1)
    save_png(root / "000000000001.png", 2)
    man = _write(tmp_path / "c.json", {
        "000000000001.jpg": ["a red car"], "000000000001.png": ["a blue car", "a green car"],
    })  # fmt: skip
    assert _run(cli, "lcad-captions", man, root, tmp_path / "s") == 0
    s = load_split(tmp_path / "s")
    assert [r.caption for r in s.records] == ["a red car"]
    assert [(e.reason, e.item) for e in s.manifest.exclusions] == [
        ("duplicate id", "000000000001.png"), ("duplicate id", "000000000001.png"),
    ]  # fmt: skip
    for r in s.records:
        s.verify_image(r)  # every record's file has the recorded sha256


@pytest.mark.parametrize("case", ["dotdot", "symlink"])
def test_image_outside_images_is_a_counted_skip(tmp_path, cli, save_png, case):
    """A key whose file lies outside --images was read and written into the split, where the
    evaluation refused every such pair."""
    root = tmp_path / "val2017"
    save_png(root / "000000000001.jpg", 1)
    save_png(tmp_path / "outside" / "000000000002.jpg", 2)
    if case == "dotdot":
        key = "../outside/000000000002.jpg"
    else:
        key = "000000000002.jpg"
        (root / key).symlink_to(tmp_path / "outside" / key)
    man = _write(tmp_path / "c.json", {"000000000001.jpg": ["a red car"], key: ["a blue car"]})
    assert _run(cli, "lcad-captions", man, root, tmp_path / "s") == 0
    s = load_split(tmp_path / "s")
    assert [(e.item, e.reason) for e in s.manifest.exclusions] == [(key, "image outside --images")]
    assert [r.caption for r in s.records] == ["a red car"]
    assert _run(cli, "lcad-captions", man, root, tmp_path / "strict", "--strict") == 4
