"""``lcad-bench build imagenet``: labels from file names, folders and CSV; saturation test; bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from lcad_bench.splits import load_split


def _expected_achromatic(path) -> bool:
    """Independent check: short side 256 (bicubic), centre crop, skimage Lab, C*ab p99 < 6."""
    from skimage.color import rgb2lab

    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        s = 256 / min(w, h)
        nw, nh = max(256, round(w * s)), max(256, round(h * s))
        im = im.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=None)
        left, top = (nw - 256) // 2, (nh - 256) // 2
        a = np.asarray(im.crop((left, top, left + 256, top + 256)))
    lab = rgb2lab(a)
    return float(np.percentile(np.hypot(lab[..., 1], lab[..., 2]), 99)) < 6.0


def _class_from_name(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    return stem.split("_", 1)[1].replace("_", " ")


@pytest.fixture(scope="module")
def sample(shared_data):
    folder = shared_data / "imagenet-sample"
    if not folder.is_dir():
        pytest.skip(f"{folder} missing")
    files = sorted(p for p in folder.iterdir() if p.suffix == ".JPEG")
    return folder, files


@pytest.fixture(scope="module")
def achromatic(sample):
    return {f.stem for f in sample[1] if _expected_achromatic(f)}


@pytest.fixture(scope="module")
def built(sample, tmp_path_factory):
    from lcad_bench.builders.imagenet import build_imagenet

    folder, _ = sample
    out = tmp_path_factory.mktemp("imagenet") / "split"
    m = build_imagenet(folder, out, quiet=True)
    return out, m


def test_sample_split(sample, built, achromatic, tmp_path):
    folder, files = sample
    out, m = built
    assert len(files) == 200
    assert 0 < len(achromatic) < 20
    s = load_split(out)
    assert len(s.records) == 200 - len(achromatic)
    assert {r.image_key for r in s.records} == {f.stem for f in files} - achromatic
    names = {f.stem: _class_from_name(f.name) for f in files}
    assert names["n02089078_black-and-tan_coonhound"] == "black-and-tan coonhound"
    for r in s.records:
        assert r.pair_id == f"{r.image_key}#0"
        assert r.class_name == names[r.image_key]
        assert r.natural_level == "sparse"
        assert r.descriptions == {
            "complete": None,
            "partial": None,
            "sparse": r.class_name,
            "none": "",
        }
        assert (s.image_file(r)).is_file()
    assert {e.item.rsplit(".", 1)[0] for e in m.exclusions} == achromatic
    assert all(e.reason == "achromatic ground truth" for e in m.exclusions)
    man = json.loads((out / "manifest.json").read_text())
    assert (
        man["protocol"]["resize_policy"] == "short_side_center_crop"
        and man["protocol"]["imagenet_center_crop"] is True
    )
    assert man["spacy"]["name"] and man["lexicon_version"] and man["rules_version"]

    import datasets

    ds = datasets.load_dataset(str(out), split="test", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == len(s.records)
    assert ds[0]["pair_id"] == s.records[0].pair_id


def test_val5k_keeps_achromatic(sample, achromatic, tmp_path, cli):
    folder, files = sample
    out = tmp_path / "v5k"
    rc = cli(
        [
            "build",
            "imagenet",
            "--images",
            str(folder),
            "--val5k",
            "--class-template",
            "a photo of a {}",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert rc == 0
    s = load_split(out)
    assert len(s.records) == 200
    flagged = {r.image_key for r in s.records if "achromatic" in r.flags}
    assert flagged == achromatic
    r = s.records[0]
    assert r.descriptions["sparse"] == f"a photo of a {r.class_name}"
    assert (
        s.manifest.protocol["class_template"] == "a photo of a {}"
        and s.manifest.protocol["val5k"] is True
    )


def test_first_n_and_rebuild_is_identical(sample, tmp_path):
    from lcad_bench.builders.imagenet import build_imagenet

    folder, files = sample
    m1 = build_imagenet(folder, tmp_path / "a", first_n=30, val5k=True, quiet=True)
    assert sorted(r.image_key for r in load_split(tmp_path / "a").records) == [
        f.stem for f in files[:30]
    ]
    assert m1.counts["images_considered"] == 30
    m2 = build_imagenet(folder, tmp_path / "b", first_n=30, val5k=True, quiet=True)
    assert m1.content_hash == m2.content_hash
    shard = m1.shards[0].path
    assert (tmp_path / "a" / shard).read_bytes() == (tmp_path / "b" / shard).read_bytes()


MAPPING = "n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\nn02089078 black-and-tan coonhound\n"


def test_folder_per_synset(tmp_path, cli, capsys, save_png):
    root = tmp_path / "val"
    save_png(root / "n01440764" / "a1.png", 1)
    save_png(root / "n01440764" / "a2.png", 2)
    save_png(root / "n02089078" / "b1.png", 3)
    save_png(root / "n02089078" / "gray.png", 4, colour=False)
    (tmp_path / "map.txt").write_text(MAPPING)
    out = tmp_path / "s"
    assert (
        cli(
            [
                "build",
                "imagenet",
                "--images",
                str(root),
                "--synsets",
                str(tmp_path / "map.txt"),
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    s = load_split(out)
    assert {r.image_key: r.class_name for r in s.records} == {
        "a1": "tench",
        "a2": "tench",
        "b1": "black-and-tan coonhound",
    }
    assert [e.reason for e in s.manifest.exclusions] == ["achromatic ground truth"]
    assert s.image_file(s.records[0]).is_file()
    assert [i.name for i in s.manifest.inputs] == ["synset_mapping"]
    # without a mapping: synset ids, with a warning
    capsys.readouterr()
    assert (
        cli(["build", "imagenet", "--images", str(root), "--out", str(tmp_path / "t"), "-q"]) == 0
    )
    assert "no --synsets mapping" in capsys.readouterr().err
    assert {r.class_name for r in load_split(tmp_path / "t").records} == {"n01440764", "n02089078"}


def test_csv_labels(tmp_path, cli, save_png):
    root = tmp_path / "val"
    for i in range(1, 5):
        save_png(root / f"ILSVRC2012_val_{i:08d}.JPEG", i)
    (tmp_path / "map.txt").write_text(MAPPING)
    csv = "ImageId,PredictionString\n"
    csv += "ILSVRC2012_val_00000001,n01443537 10 20 30 40 n01443537 1 2 3 4\n"
    csv += "ILSVRC2012_val_00000002,n01440764 10 20 30 40\n"
    csv += "ILSVRC2012_val_00000003,n09999999 1 2 3 4\n"  # unknown synset
    (tmp_path / "sol.csv").write_text(csv)  # image 4 has no label
    out = tmp_path / "s"
    args = [
        "build",
        "imagenet",
        "--images",
        str(root),
        "--labels",
        str(tmp_path / "sol.csv"),
        "--synsets",
        str(tmp_path / "map.txt"),
    ]
    assert cli([*args, "--out", str(out), "-q"]) == 0
    s = load_split(out)
    assert {r.image_key: r.class_name for r in s.records} == {
        "ILSVRC2012_val_00000001": "goldfish",
        "ILSVRC2012_val_00000002": "tench",
    }
    assert sorted(e.reason for e in s.manifest.exclusions) == ["missing label", "unknown synset"]
    assert s.manifest.counts["label_source"] == "csv"
    assert cli([*args, "--out", str(tmp_path / "strict"), "--strict", "-q"]) == 4
    assert not (tmp_path / "strict").exists()


def test_bad_csv_header(tmp_path, cli, save_png):
    root = tmp_path / "val"
    save_png(root / "ILSVRC2012_val_00000001.JPEG", 1)
    (tmp_path / "sol.csv").write_text("id,label\nx,y\n")
    rc = cli(
        [
            "build",
            "imagenet",
            "--images",
            str(root),
            "--labels",
            str(tmp_path / "sol.csv"),
            "--out",
            str(tmp_path / "s"),
            "-q",
        ]
    )
    assert rc == 4 and not (tmp_path / "s").exists()


# 16-bit grayscale is not a bad input for ImageNet (grayscale sources are accepted): it is scaled
# like 8-bit gray, see tests/reliability/test_images.py::test_imagenet_reads_16bit_grayscale_scaled
@pytest.mark.parametrize(
    "case", ["cmyk", "palette", "rgba", "unreadable", "duplicate", "no_label", "symlink_out"]
)
def test_bad_inputs_skipped_or_strict(tmp_path, cli, bad_images, case, save_png):
    root = tmp_path / "imgs"
    save_png(root / "n01440764_tench.png", 1)
    save_png(root / "n01443537_goldfish.png", 2)
    if case == "duplicate":
        save_png(root / "n01443537_goldfish.jpg", 3)  # same image key as the .png
        reason = "duplicate image id"
    elif case == "no_label":
        save_png(root / "holiday_photo.png", 3)
        reason = "missing label"
    elif case == "symlink_out":  # read, then refused by the evaluation of every such pair
        save_png(tmp_path / "elsewhere" / "n02089078_black-and-tan_coonhound.png", 3)
        link = root / "n02089078_black-and-tan_coonhound.png"
        link.symlink_to(tmp_path / "elsewhere" / link.name)
        reason = "image outside --images"
    else:
        bad_images[case](root / "n02089078_black-and-tan_coonhound.png")
        reason = "unreadable image" if case == "unreadable" else "non-RGB image"
    out = tmp_path / "s"
    assert cli(["build", "imagenet", "--images", str(root), "--out", str(out), "-q"]) == 0
    s = load_split(out)
    assert len(s.records) == 2
    assert [e.reason for e in s.manifest.exclusions] == [reason]
    strict_out = tmp_path / "strict"
    assert (
        cli(
            ["build", "imagenet", "--images", str(root), "--out", str(strict_out), "--strict", "-q"]
        )
        == 4
    )
    assert not strict_out.exists()


def test_usage_errors(tmp_path, cli, save_png):
    root = tmp_path / "imgs"
    save_png(root / "n01440764_tench.png", 1)
    assert (
        cli(
            [
                "build",
                "imagenet",
                "--images",
                str(root),
                "--class-template",
                "no slot",
                "--out",
                str(tmp_path / "s"),
                "-q",
            ]
        )
        == 2
    )
    assert (
        cli(
            [
                "build",
                "imagenet",
                "--images",
                str(tmp_path / "nope"),
                "--out",
                str(tmp_path / "s"),
                "-q",
            ]
        )
        == 3
    )
    assert (
        cli(["build", "imagenet", "--images", str(root), "--out", str(tmp_path / "s"), "-q"]) == 0
    )
    assert (
        cli(["build", "imagenet", "--images", str(root), "--out", str(tmp_path / "s"), "-q"]) == 2
    )  # exists
    assert (
        cli(
            [
                "build",
                "imagenet",
                "--images",
                str(root),
                "--out",
                str(tmp_path / "s"),
                "--overwrite",
                "-q",
            ]
        )
        == 0
    )


def test_embed_images(tmp_path, save_png):
    from lcad_bench.builders.imagenet import build_imagenet

    root = tmp_path / "imgs"
    save_png(root / "n01440764_tench.png", 1)
    build_imagenet(root, tmp_path / "s", embed_images=True, quiet=True)
    s = load_split(tmp_path / "s")
    assert s.records[0].image_bytes == (root / "n01440764_tench.png").read_bytes()
    assert s.manifest.image_root is None and s.load_image(s.records[0]).size == (60, 40)
